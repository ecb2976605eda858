"""`ccdr bench`'s command: the phases in order, progress on stderr, the table on stdout, the figures as JSON."""

from __future__ import annotations

import json
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import psycopg
import typer
from aiokafka.errors import KafkaError
from rich.console import Console

from infra.cli_options import TopologyOption
from infra.lab import secrets as lab_secrets
from infra.lab.database import app_dsn
from infra.lab.layout import LabLayout
from infra.lab.pki import ca_file
from infra.topology import TopologyError, load_topology
from loadtests.bench.drain import run_drain, survivor_of
from loadtests.bench.figures import BenchError, BenchResult, default_json_path, document, headline, render_table
from loadtests.bench.phases import (
    IN_FLIGHT,
    INTAKE_LINGER_MS,
    MESSAGE_BYTES,
    PGBENCH,
    PGBENCH_THREADS,
    PORTAL_ONLY,
    ROW_BYTES,
    console,
    database_settings,
    machine_info,
    primary_site,
    run_broker_ceiling,
    run_database_ceiling,
    run_intake,
)
from loadtests.locust_command import LOCUST

PHASE_PAUSE_S = 2.0  # lets one phase's tail leave the machine before the next starts


def _phase(title: str) -> None:
    console.rule(title)


def _pause() -> None:
    time.sleep(PHASE_PAUSE_S)


def run_bench(
    *,
    seconds: int,
    clients: int,
    users: int,
    user_rate: float,
    site: str,
    drain_s: float,
    backlog: int = 0,
    topology: Path | None = None,
) -> BenchResult:
    """Every phase, in order, on the running lab."""
    started = datetime.now(UTC)
    topo = load_topology(topology)
    if site not in topo.data_sites:
        raise BenchError(f"--site {site!r} is not a data site ({', '.join(topo.data_sites)})")
    for tool, hint in ((PGBENCH, "apt-get install postgresql-15"), (LOCUST, "make install")):
        if not tool.exists():
            raise BenchError(f"{tool} is missing: run `{hint}`")
    layout = LabLayout(topo)
    try:
        loaded = lab_secrets.load(layout)
        password, owner_password = loaded.app, loaded.schema_owner
    except OSError:
        raise BenchError(f"no lab secrets at {layout.secrets_file}: is the lab up (ccdr lab up)?") from None
    dsn = app_dsn(topo, password)
    db_settings = database_settings(dsn)
    primary = primary_site(topo)
    front_door_url = topo.front_door_url("intake")
    site_url = topo.site_url(site, "intake")
    machine = machine_info()
    warnings = []
    if not db_settings["synchronous_standby_names"] or db_settings["synchronous_commit"] in ("off", "local"):
        warnings.append(
            "commits do not wait for a synchronous standby now "
            f"(synchronous_standby_names={db_settings['synchronous_standby_names']!r}): "
            "the database ceiling is not that of the lab's normal state"
        )
    console.print(
        f"primary at site {primary}; {machine['cores']} cores, load {machine['load_average']}; {seconds} s per phase",
        highlight=False,
    )

    _phase(f"1/7 database ceiling: pgbench, {clients} clients, {seconds} s")
    database = run_database_ceiling(topo, password, clients, seconds, owner_password)
    console.print(f"  {database.tps:,.1f} tx/s, latency {database.latency_ms} ms")
    _pause()

    _phase(f"2/7 broker ceiling: acks=all, idempotent, {IN_FLIGHT} in flight, {seconds} s (bench topic, not intake)")
    broker = run_broker_ceiling(topo, seconds)
    console.print(f"  {broker.rate_per_s:,.0f} msg/s acknowledged ({broker.mb_per_s:.1f} MB/s)")
    _pause()

    runs = []
    for number, (label, url) in enumerate((("front door", front_door_url), (f"site {site}", site_url)), start=3):
        _phase(f"{number}/7 intake and tickets, {label} ({url}): portal only, {users} users, {seconds} s")
        run = run_intake(
            dsn,
            label=label,
            url=url,
            users=users,
            user_rate=user_rate,
            seconds=seconds,
            drain_s=drain_s,
            ca=ca_file(topo),
        )
        console.print(
            f"  {run.accepted_per_s:,.1f} req/s accepted; {run.e2e.tickets:,} tickets, "
            f"{run.e2e.rate_per_s or 0:,.1f} tickets/s, p99 {run.e2e.p99_ms or 0:,.0f} ms, "
            f"drain {run.e2e.drain_s or 0:.1f} s"
        )
        if not run.e2e.drained:
            warnings.append(
                f"{label}: only {run.e2e.tickets} of {run.e2e.accepted} accepted intakes became tickets "
                f"within {drain_s:.0f} s of the load's end"
            )
        if run.failures:
            warnings.append(f"{label}: {run.failures} requests not accepted: {run.errors}")
        runs.append(run)
        _pause()

    drains = []
    if backlog:
        survivor = survivor_of(topo, primary)
        for number, sites in ((6, list(topo.data_sites)), (7, [survivor])):
            _phase(f"{number}/7 ticket workers drain a backlog of {backlog:,} intake events: {', '.join(sites)}")
            drain = run_drain(topo, layout, dsn, events=backlog, sites=sites, timeout_s=drain_s)
            console.print(
                f"  {drain.applied:,} tickets, {drain.rate_per_s or 0:,.0f} tickets/s; first after "
                f"{drain.first_after_start_s:.1f} s, all after {drain.total_s:.1f} s"
            )
            if drain.applied < drain.events:
                warnings.append(f"drain ({drain.label}): {drain.applied} of {drain.events} within {drain_s:.0f} s")
            drains.append(drain)
            _pause()

    settings = {
        "seconds": seconds,
        "backlog_events": backlog,
        "pgbench_clients": clients,
        "pgbench_threads": PGBENCH_THREADS,
        "row_bytes": ROW_BYTES,
        "message_bytes": MESSAGE_BYTES,
        "in_flight": IN_FLIGHT,
        "linger_ms": INTAKE_LINGER_MS,
        "users": users,
        "user_rate": user_rate,
        "mix": PORTAL_ONLY,
        "site": site,
        "drain_timeout_s": drain_s,
        "primary_site": primary,
        **db_settings,
        "front_door_url": front_door_url,
        "site_url": site_url,
    }
    return BenchResult(
        started_at=started,
        finished_at=datetime.now(UTC),
        command=shlex.join(sys.argv),
        machine=machine,
        settings=settings,
        database=database,
        broker=broker,
        front_door=runs[0],
        one_site=runs[1],
        drains=drains,
        warnings=warnings,
    )


def main(
    seconds: Annotated[int, typer.Option(min=5, max=3600, help="Length of each phase.")] = 20,
    clients: Annotated[int, typer.Option(min=1, max=256, help="pgbench clients (phase 1).")] = 8,
    users: Annotated[int, typer.Option(min=1, max=2000, help="locust users (phases 3-5).")] = 32,
    user_rate: Annotated[float, typer.Option(min=0.1, help="Requests/s per locust user (an upper bound).")] = 50.0,
    site: Annotated[str, typer.Option(help="The site whose intake is measured alone (phase 5).")] = "a",
    backlog: Annotated[
        int,
        typer.Option(
            min=0, max=1_000_000, help="Intake events in the backlog the workers drain (phases 6-7; 0 skips them)."
        ),
    ] = 20_000,
    drain_timeout: Annotated[
        float, typer.Option(min=0, help="Seconds to wait after the load for its tickets.")
    ] = 120.0,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the figures here (default: bench-results/<UTC time>.json).")
    ] = None,
    topology: TopologyOption = None,
) -> None:
    """Measure the intake path's capacity against the database's and the brokers' ceilings, on the running lab."""
    try:
        result = run_bench(
            seconds=seconds,
            clients=clients,
            users=users,
            user_rate=user_rate,
            site=site,
            drain_s=drain_timeout,
            backlog=backlog,
            topology=topology,
        )
    except (BenchError, TopologyError, psycopg.Error, KafkaError) as exc:
        message = str(exc) if isinstance(exc, BenchError | TopologyError) else f"{type(exc).__name__}: {exc}"
        Console(stderr=True).print(f"[red]error:[/red] {headline(message)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    Console().print(render_table(result))
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    path = json_out or default_json_path(result.started_at)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document(result), indent=2, ensure_ascii=False) + "\n")
    console.print(f"figures written to {path}")
