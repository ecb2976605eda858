"""Benchmark the lab itself (not a test): cold start and failover times, as medians over runs.

    python -m loadtests.bench_lab --runs 3 [--json out.json]

Measures, from the outside:
- cold `lab up`: from `down --purge` to every component healthy;
- Patroni failover: from SIGKILL of the primary's site to a write landing through the front door;
- Kafka leader move: from the same SIGKILL until every intake partition is led by the survivor.
"""

from __future__ import annotations

import json
import logging
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import psycopg
import typer
from rich.console import Console
from rich.table import Table

from infra.lab import faults, probes
from infra.lab import secrets as lab_secrets
from infra.lab.database import app_dsn
from infra.lab.lab import Lab
from infra.lab.layout import LabLayout
from infra.topology import Topology, load_topology

POLL_S = 0.2
console = Console(stderr=True)


def _primary(topo: Topology) -> str | None:
    leaders = [m.name for m in probes.patroni_cluster(topo) or [] if m.role == "leader" and m.state == "running"]
    return leaders[0] if len(leaders) == 1 else None


def _write_lands(topo: Topology, app_password: str) -> bool:
    dsn = app_dsn(topo, app_password)
    try:
        with psycopg.connect(dsn) as conn:
            conn.execute("INSERT INTO replication_probe (token) VALUES (%s)", (f"bench-{uuid.uuid4().hex}",))
        return True
    except psycopg.Error:
        return False


def measure_failover(topo: Topology, lab: Lab, timeout_s: float = 120) -> dict[str, float]:
    """Kill the primary's site; time the database write path and Kafka leadership moving."""
    victim = _primary(topo)
    if victim is None:
        raise SystemExit("no single Patroni primary: is the lab up and converged?")
    survivor = next(s for s in topo.data_sites if s != victim)
    survivor_id = topo.sites[survivor].node_id
    app_password = lab_secrets.load(LabLayout(topo)).app
    result: dict[str, float] = {}

    def kafka_moved() -> bool:
        meta = probes.kafka_metadata(topo)
        if not meta:
            return False
        return set(meta.leaders_of(topo.kafka.intake_topic).values()) == {survivor_id}

    # One poller per figure, so a slow write attempt never delays the Kafka observation.
    def poll(name: str, done: Callable[[], bool]) -> None:
        while time.monotonic() - t0 < timeout_s:
            if done():
                result[name] = time.monotonic() - t0
                return
            time.sleep(POLL_S)

    pollers = [
        threading.Thread(target=poll, args=("kafka_leader_move_s", kafka_moved)),
        threading.Thread(target=poll, args=("patroni_failover_s", lambda: _write_lands(topo, app_password))),
    ]
    t0 = time.monotonic()
    faults.kill_site(topo, victim)
    with console.status(f"site {victim} killed; waiting for {survivor} to take over"):
        for p in pollers:
            p.start()
        for p in pollers:
            p.join()
    if len(result) < 2:
        raise SystemExit(f"failover not complete after {timeout_s:.0f} s: {result}")
    console.print(
        f"  killed {victim}: write lands at {survivor} after {result['patroni_failover_s']:.1f} s, "
        f"Kafka leaders moved after {result['kafka_leader_move_s']:.1f} s"
    )
    lab.restore_site(victim)
    return result


def main(
    runs: Annotated[int, typer.Option(min=1, help="Repetitions of each measurement.")] = 3,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures here.")] = None,
) -> None:
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    topo = load_topology()
    lab = Lab(topo, console)
    cold: list[float] = []
    for i in range(runs):
        console.rule(f"cold lab up, run {i + 1}/{runs}")
        lab.down(purge=True)
        t0 = time.monotonic()
        lab.up()
        cold.append(time.monotonic() - t0)
        console.print(f"  cold lab up: healthy after {cold[-1]:.1f} s")
    failovers = []
    for i in range(runs):
        console.rule(f"failover of the primary's site, run {i + 1}/{runs}")
        failovers.append(measure_failover(topo, lab))
    figures = {
        "cold_lab_up_s": cold,
        "patroni_failover_s": [f["patroni_failover_s"] for f in failovers],
        "kafka_leader_move_s": [f["kafka_leader_move_s"] for f in failovers],
    }
    table = Table(title=f"lab benchmark ({runs} runs)")
    for col in ("figure", "median s", "max s", "runs"):
        table.add_column(col)
    for name, values in figures.items():
        table.add_row(
            name, f"{statistics.median(values):.1f}", f"{max(values):.1f}", ", ".join(f"{v:.1f}" for v in values)
        )
    Console().print(table)
    if json_out:
        json_out.write_text(json.dumps({"runs": runs, "figures": figures}, indent=2))


if __name__ == "__main__":
    typer.run(main)
