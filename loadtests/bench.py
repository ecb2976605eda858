"""`ccdr bench`: the intake path's capacity against its physical ceilings, in one run on the running lab.

    .venv/bin/ccdr bench [--seconds 20] [--clients 8] [--users 32] [--site a] [--json out.json]

Phases, in this order, each `--seconds` long:

1. Database ceiling: pgbench commits one ~1 KB INSERT per transaction into `ccdr_bench.bench_inserts`
   (schema created before, dropped after) through the front door's primary port as the app user, under the
   lab's synchronous replication: every commit waits for the standby, as every ticket commit does.
2. Broker ceiling: one aiokafka producer with intake's settings (`core.kafka.acknowledged_producer`: acks=all,
   idempotent, intake's linger and request timeout) keeps many ~1.5 KB sends in flight. It writes to a bench
   topic with the intake topic's partitions, replication factor and min.insync.replicas, deleted afterwards;
   never to the intake topic itself, because the ticket consumer would keep every bench message as a poison
   message. It is the ceiling one Python producer sees (intake's own client), not the brokers' raw capacity.
3. Intake accepted rate: headless locust in a subprocess (it runs on gevent, so it is never imported here),
   portal persona only, through the front door (both sites). Portal alone isolates the HTTP + Kafka path: no
   SMTP, no signatures, no alert storms fanning one request into many events, and one accepted request is
   exactly one new ticket, so (3) and (4) count the same things.
4. End to end, during (3): tickets committed per second for that run's intakes (found by the run marker the
   locustfile writes into descriptions), latency from `tickets.received_at` (intake's clock) to
   `tickets.created_at` (`now()` of the applying transaction; its commit follows within one figure-1 commit),
   and the drain time from the last intake received to the last ticket, waiting at most `--drain-timeout`.
5. One site alone: (3) + (4) again against one site's intake directly (`--site`, default `a`).

Ratios: (3)/(2), (4)/(1), and one site's accepted rate over both sites'.

The default site is a fixed `a`, not "the site without the primary": intake never talks to PostgreSQL, the
sites are symmetric, and a fixed target keeps runs comparable after drills moved the primary around (the JSON
records where the primary was).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import platform
import re
import secrets
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.table import Table

from core.kafka import acknowledged_producer
from drills.report import LoadStats
from infra.cli_options import TopologyOption
from infra.lab import probes
from infra.lab import secrets as lab_secrets
from infra.lab.database import front_door_dsn
from infra.lab.layout import PG_BIN_DIR, LabLayout
from infra.topology import Topology, TopologyError, load_topology
from loadtests.drill_load import LOCUST, LOCUSTFILE, parse_stats_csv

SCHEMA = "ccdr.bench/1"
PGBENCH = PG_BIN_DIR / "pgbench"
PGBENCH_THREADS = 2
BENCH_SCHEMA = "ccdr_bench"
BENCH_TABLE = f"{BENCH_SCHEMA}.bench_inserts"
ROW_BYTES = 1024  # repeat(md5(...), 32): 32 x 32 hex characters
# One ~1 KB row per transaction: what a ticket commit writes, roughly, minus its indexes and events.
PGBENCH_SCRIPT = f"INSERT INTO {BENCH_TABLE} (payload) VALUES (repeat(md5(random()::text), 32));\n"
MESSAGE_BYTES = 1536
IN_FLIGHT = 1000  # sends awaiting acknowledgement at once
INTAKE_LINGER_MS = 2  # core.intake.bus.KafkaIntakeBus's producer
PORTAL_ONLY = "portal=1"
PROGRESS_S = 5
QUIET_S = 3.0  # no new ticket for this long: the consumer has nothing left of the run
PHASE_PAUSE_S = 2.0  # lets one phase's tail leave the machine before the next starts
SUBPROCESS_GRACE_S = 90  # beyond --seconds before a locust or pgbench run counts as hung
console = Console(stderr=True)


class BenchError(Exception):
    """The benchmark cannot run or a phase failed; the message is one line for the operator."""


# -- pure parts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PgbenchResult:
    tps: float  # without initial connection time
    latency_ms: float | None
    transactions: int
    failed: int
    clients: int
    threads: int
    duration_s: float


_PGBENCH_FIELDS = {
    "tps": re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE),
    "latency_ms": re.compile(r"^latency average = ([0-9.]+) ms", re.MULTILINE),
    "transactions": re.compile(r"^number of transactions actually processed: (\d+)", re.MULTILINE),
    "failed": re.compile(r"^number of failed transactions: (\d+)", re.MULTILINE),
    "clients": re.compile(r"^number of clients: (\d+)", re.MULTILINE),
    "threads": re.compile(r"^number of threads: (\d+)", re.MULTILINE),
    "duration_s": re.compile(r"^duration: ([0-9.]+) s", re.MULTILINE),
}


def parse_pgbench(text: str) -> PgbenchResult:
    """pgbench 15's summary (stdout); ValueError when it has no tps line (an aborted run)."""
    found = {name: pattern.search(text) for name, pattern in _PGBENCH_FIELDS.items()}
    tps = found["tps"]
    if tps is None:
        raise ValueError("pgbench printed no 'tps = ... (without initial connection time)' line")

    def number(name: str) -> float:
        match = found[name]
        return float(match.group(1)) if match else 0.0

    latency = found["latency_ms"]
    return PgbenchResult(
        tps=float(tps.group(1)),
        latency_ms=float(latency.group(1)) if latency else None,
        transactions=int(number("transactions")),
        failed=int(number("failed")),
        clients=int(number("clients")),
        threads=int(number("threads")),
        duration_s=number("duration_s"),
    )


def pgbench_command(
    *, host: str, port: int, user: str, dbname: str, clients: int, seconds: int, script: Path
) -> list[str]:
    """The pgbench argv; the password goes in PGPASSWORD, never here (argv is world-readable in /proc)."""
    return [
        str(PGBENCH),
        *("-h", host, "-p", str(port), "-U", user),
        "-n",  # no vacuum of pgbench's own tables: there are none
        *("-c", str(clients), "-j", str(PGBENCH_THREADS), "-T", str(seconds), "-P", str(PROGRESS_S)),
        *("-f", str(script)),
        dbname,
    ]


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100), linear between closest ranks; None for no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0-100")
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class TicketRow:
    received_at: datetime  # stamped by intake when the request arrived
    created_at: datetime  # now() of the transaction that applied the intake
    site: str  # the site whose intake received it


@dataclass(frozen=True)
class EndToEnd:
    tickets: int
    accepted: int  # what locust saw accepted; tickets should reach it
    rate_per_s: float | None  # tickets committed while intakes were arriving, per second of that window
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    drain_s: float | None  # from the last intake received to the last ticket committed
    drained: bool
    by_site: dict[str, int] = field(default_factory=dict)


def end_to_end(rows: Sequence[TicketRow], accepted: int) -> EndToEnd:
    """Rate, latency and drain of one run's tickets; the window is that of the intakes' arrival."""
    latencies = [(r.created_at - r.received_at).total_seconds() * 1000 for r in rows]
    rate = drain = None
    if rows:
        first = min(r.received_at for r in rows)
        last = max(r.received_at for r in rows)
        window_s = (last - first).total_seconds()
        if window_s > 0:
            rate = sum(1 for r in rows if r.created_at <= last) / window_s
        drain = max(0.0, (max(r.created_at for r in rows) - last).total_seconds())
    return EndToEnd(
        tickets=len(rows),
        accepted=accepted,
        rate_per_s=rate,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        max_ms=max(latencies) if latencies else None,
        drain_s=drain,
        drained=len(rows) >= accepted,
        by_site=dict(sorted(Counter(r.site for r in rows).items())),
    )


def accepted_rate(stats: LoadStats) -> float:
    """Successful (202) requests per second, on locust's clock: its rate times the success share."""
    if stats.requests <= 0:
        return 0.0
    total_rps = sum(named["rps"] for named in stats.by_name.values())
    return total_rps * (stats.requests - stats.failures) / stats.requests


_WRAPPED_ERROR = re.compile(r"^CatchResponseError\((['\"])(.*)\1\)$")


def parse_failures_csv(text: str) -> dict[str, int]:
    """locust's `<prefix>_failures.csv`: occurrences per error message, most frequent first."""
    counts: Counter[str] = Counter()
    for row in csv.DictReader(io.StringIO(text)):
        error = row.get("Error") or "?"
        wrapped = _WRAPPED_ERROR.match(error)  # locust writes the repr of the failure it was given
        counts[wrapped.group(2) if wrapped else error] += int(float(row.get("Occurrences") or 0))
    return dict(counts.most_common())


def backlog_drained(tickets: int, accepted: int, quiet_s: float) -> bool:
    """Every accepted intake has its ticket and none arrived for QUIET_S.

    Not `tickets >= accepted` alone: locust's final CSV is its last periodic write, up to a second
    older than the run's end, so `accepted` can fall short of what intake really accepted.
    """
    return tickets >= accepted and quiet_s >= QUIET_S


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is zero."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def topic_layout(described: Sequence[dict[str, Any]], topic: str) -> tuple[int, int]:
    """(partitions, replication factor) of a topic from the admin client's `describe_topics`."""
    for entry in described:
        if entry.get("topic") == topic and not entry.get("error_code") and entry.get("partitions"):
            partitions = entry["partitions"]
            return len(partitions), max(len(p["replicas"]) for p in partitions)
    raise BenchError(f"kafka topic {topic} not found: is the lab up (ccdr lab up)?")


def topic_config(described: Sequence[dict[str, Any]], topic: str, name: str) -> str | None:
    """One config value of a topic from `describe_configs` responses (as `to_object()` dicts)."""
    for response in described:
        for resource in response.get("resources", []):
            if resource.get("resource_name") != topic or resource.get("error_code"):
                continue
            for entry in resource.get("config_entries", []):
                if entry.get("config_names") == name:
                    return str(entry.get("config_value"))
    return None


def parse_meminfo(text: str) -> int | None:
    """MemTotal of /proc/meminfo, in bytes."""
    match = re.search(r"^MemTotal:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else None


@dataclass(frozen=True)
class BrokerResult:
    messages: int
    seconds: float
    message_bytes: int
    in_flight: int
    topic: str
    partitions: int
    replication_factor: int
    min_insync_replicas: str
    settings_source: str  # "intake topic" or "topology" (the intake topic's configs could not be read)

    @property
    def rate_per_s(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.rate_per_s * self.message_bytes / 1e6


@dataclass(frozen=True)
class IntakeRun:
    label: str  # "front door" or "site a"
    url: str
    run_id: str
    users: int
    user_rate: float
    seconds: int
    requests: int
    failures: int
    accepted_per_s: float
    http_p50_ms: float | None
    http_p99_ms: float | None
    errors: dict[str, int]
    e2e: EndToEnd


@dataclass(frozen=True)
class BenchResult:
    started_at: datetime
    finished_at: datetime
    command: str
    machine: dict[str, Any]
    settings: dict[str, Any]
    database: PgbenchResult
    broker: BrokerResult
    front_door: IntakeRun
    one_site: IntakeRun
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: float | None
    unit: str
    note: str = ""


def _intake_figures(prefix: str, run: IntakeRun) -> list[Figure]:
    e2e = run.e2e
    errors = ", ".join(f"{n}x {message}" for message, n in list(run.errors.items())[:2])
    sites = ", ".join(f"{site}: {n}" for site, n in e2e.by_site.items())
    drained = "drained" if e2e.drained else f"NOT drained: {e2e.tickets} of {e2e.accepted} tickets"
    return [
        Figure(f"{prefix}.accepted_per_s", f"Intake accepted (202), {run.label}", run.accepted_per_s, "req/s"),
        Figure(f"{prefix}.failures", f"Intake not accepted, {run.label}", run.failures, "req", errors),
        Figure(f"{prefix}.http_p50_ms", f"Intake HTTP p50, {run.label}", run.http_p50_ms, "ms"),
        Figure(f"{prefix}.http_p99_ms", f"Intake HTTP p99, {run.label}", run.http_p99_ms, "ms"),
        Figure(f"{prefix}.tickets_per_s", f"Tickets committed during load, {run.label}", e2e.rate_per_s, "tickets/s"),
        Figure(f"{prefix}.tickets", f"Tickets created, {run.label}", e2e.tickets, "tickets", sites),
        Figure(f"{prefix}.ticket_p50_ms", f"Received -> ticket row p50, {run.label}", e2e.p50_ms, "ms"),
        Figure(f"{prefix}.ticket_p99_ms", f"Received -> ticket row p99, {run.label}", e2e.p99_ms, "ms"),
        Figure(f"{prefix}.drain_s", f"Backlog drain after load, {run.label}", e2e.drain_s, "s", drained),
    ]


def figures(result: BenchResult) -> list[Figure]:
    """Every measured figure, in the order of the phases."""
    db, broker = result.database, result.broker
    return [
        Figure(
            "database.insert_tps",
            "DB ceiling: 1 KB INSERT commits (pgbench)",
            db.tps,
            "tx/s",
            f"{db.clients} clients, synchronous standby: {result.settings.get('synchronous_standby_names') or 'NONE'}",
        ),
        Figure("database.latency_ms", "DB ceiling: commit latency average", db.latency_ms, "ms"),
        Figure(
            "broker.acked_per_s",
            "Broker ceiling: acks=all sends acknowledged",
            broker.rate_per_s,
            "msg/s",
            f"{broker.in_flight} in flight; {broker.partitions} partitions, RF {broker.replication_factor},"
            f" min ISR {broker.min_insync_replicas}",
        ),
        Figure("broker.acked_mb_per_s", "Broker ceiling: payload acknowledged", broker.mb_per_s, "MB/s"),
        *_intake_figures("front_door", result.front_door),
        *_intake_figures("one_site", result.one_site),
    ]


def ratios(result: BenchResult) -> list[Figure]:
    """How much of each ceiling the intake path reaches, and one site against both."""
    fd, one = result.front_door, result.one_site
    return [
        Figure(
            "intake_vs_broker",
            "Intake accepted / broker ceiling",
            ratio(fd.accepted_per_s, result.broker.rate_per_s),
            "ratio",
            "(3)/(2)",
        ),
        Figure(
            "tickets_vs_database",
            "Tickets committed / DB INSERT ceiling",
            ratio(fd.e2e.rate_per_s, result.database.tps),
            "ratio",
            "(4)/(1)",
        ),
        Figure(
            "one_site_vs_both",
            f"{one.label} alone / {fd.label} (both sites)",
            ratio(one.accepted_per_s, fd.accepted_per_s),
            "ratio",
            "accepted rates",
        ),
    ]


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "ratio":
        return f"{value:.3f}"
    if unit in ("req", "tickets"):
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def _figure_json(figure: Figure) -> dict[str, Any]:
    return {"label": figure.label, "value": figure.value, "unit": figure.unit, "note": figure.note}


def document(result: BenchResult) -> dict[str, Any]:
    """The JSON document of one run: figures and ratios by key, so runs can be compared key by key."""
    return {
        "schema": SCHEMA,
        "started_at": result.started_at.isoformat(),
        "finished_at": result.finished_at.isoformat(),
        "command": result.command,
        "machine": result.machine,
        "settings": result.settings,
        "figures": {f.key: _figure_json(f) for f in figures(result)},
        "ratios": {f.key: _figure_json(f) for f in ratios(result)},
        "phases": {
            "database": asdict(result.database),
            "broker": {**asdict(result.broker), "rate_per_s": result.broker.rate_per_s},
            "front_door": asdict(result.front_door),
            "one_site": asdict(result.one_site),
        },
        "warnings": result.warnings,
    }


def render_table(result: BenchResult) -> Table:
    """Every figure and ratio with its unit; machine, settings and command in the caption."""
    m, s = result.machine, result.settings
    memory = f"{m['memory_bytes'] / 2**30:.1f} GiB" if m.get("memory_bytes") else "memory unknown"
    caption = "\n".join(
        [
            f"machine: {m.get('cores')} cores, {memory}, load {m.get('load_average')}, {m.get('kernel')}",
            "settings: "
            + ", ".join(f"{k}={v}" for k, v in s.items() if k not in ("front_door_url", "site_url"))
            + f", front door {s.get('front_door_url')}, site {s.get('site_url')}",
            f"command: {result.command}",
        ]
    )
    table = Table(title=f"ccdr bench: intake capacity against its ceilings ({result.started_at:%Y-%m-%d %H:%M} UTC)")
    table.caption = caption
    table.caption_justify = "left"
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("unit")
    table.add_column("note")
    groups = ("database.", "broker.", "front_door.", "one_site.")
    previous = None
    for figure in figures(result):
        group = next(g for g in groups if figure.key.startswith(g))
        if previous is not None and group != previous:
            table.add_section()
        previous = group
        table.add_row(figure.label, format_value(figure.value, figure.unit), figure.unit, figure.note)
    table.add_section()
    for figure in ratios(result):
        table.add_row(figure.label, format_value(figure.value, figure.unit), figure.unit, figure.note)
    return table


def default_json_path(started: datetime) -> Path:
    return Path("bench-results") / f"{started.astimezone(UTC):%Y%m%dT%H%M%SZ}.json"


# -- the lab: subprocesses, PostgreSQL, Kafka ----------------------------------------------------


def _supervise(proc: subprocess.Popen[bytes], what: str, timeout_s: float, tick: Callable[[float], None]) -> int:
    """Wait for a subprocess, calling `tick(elapsed)` every PROGRESS_S; kill it on timeout or interrupt."""
    t0 = time.monotonic()
    next_tick = t0 + PROGRESS_S
    try:
        while True:
            try:
                return proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                now = time.monotonic()
                if now - t0 > timeout_s:
                    raise BenchError(f"{what} still running after {timeout_s:.0f} s: killed") from None
                if now >= next_tick:
                    tick(now - t0)
                    next_tick += PROGRESS_S
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _headline(text: str) -> str:
    """The first line that names an error (later ones are consequences), else the first line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "fatal" in line.lower()]
    return (errors or lines or ["no output"])[0]


def _connect(dsn: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(dsn, autocommit=True)
    except psycopg.OperationalError as exc:
        raise BenchError(f"PostgreSQL not reachable through the front door: {_headline(str(exc))}") from None


def database_settings(dsn: str) -> dict[str, str]:
    """The settings that decide what one commit costs."""
    with _connect(dsn) as conn:
        row = conn.execute(
            "SELECT current_setting('synchronous_commit'), current_setting('synchronous_standby_names'),"
            " current_setting('server_version')"
        ).fetchone()
    if row is None:
        raise BenchError("PostgreSQL returned no settings")
    return {"synchronous_commit": row[0], "synchronous_standby_names": row[1], "server_version": row[2]}


def run_database_ceiling(topo: Topology, password: str, clients: int, seconds: int) -> PgbenchResult:
    """Phase 1: pgbench INSERTs through the front door's primary port, as the app user."""
    db = topo.database
    dsn = front_door_dsn(topo, db.app_user, password, db.name)
    with _connect(dsn) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {BENCH_SCHEMA}")
        conn.execute(f"DROP TABLE IF EXISTS {BENCH_TABLE}")
        conn.execute(
            f"CREATE TABLE {BENCH_TABLE} (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(),"
            " payload text NOT NULL)"
        )
    try:
        with tempfile.TemporaryDirectory(prefix="ccdr-bench-pgbench-") as workdir:
            script = Path(workdir) / "insert.sql"
            script.write_text(PGBENCH_SCRIPT)
            command = pgbench_command(
                host=str(topo.front_door.address),
                port=topo.front_door.postgres_primary,
                user=db.app_user,
                dbname=db.name,
                clients=clients,
                seconds=seconds,
                script=script,
            )
            env = {**os.environ, "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "5", "PGAPPNAME": "ccdr-bench"}
            out_path, err_path = Path(workdir) / "out", Path(workdir) / "err"
            with out_path.open("wb") as out, err_path.open("wb") as err:
                proc = subprocess.Popen(command, stdout=out, stderr=err, env=env)
                shown = 0

                def tick(_: float) -> None:
                    nonlocal shown
                    lines = err_path.read_text(errors="replace").splitlines()
                    for line in lines[shown:]:
                        if line.startswith("progress:"):
                            console.print(f"  database {line.removeprefix('progress: ')}", highlight=False)
                    shown = len(lines)

                code = _supervise(proc, "pgbench", seconds + SUBPROCESS_GRACE_S, tick)
                tick(0)
            stdout, stderr = out_path.read_text(errors="replace"), err_path.read_text(errors="replace")
            if code != 0:
                raise BenchError(f"pgbench exited {code}: {_headline(stderr)}")
            try:
                return parse_pgbench(stdout)
            except ValueError as exc:
                raise BenchError(f"pgbench: {exc}: {_headline(stderr)}") from None
    finally:
        with _connect(dsn) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {BENCH_SCHEMA} CASCADE")


async def _produce(producer: AIOKafkaProducer, topic: str, seconds: float) -> tuple[int, float]:
    """Keep IN_FLIGHT sends outstanding for `seconds`; (messages acknowledged, seconds until the last ack)."""
    value = secrets.token_hex(MESSAGE_BYTES // 2).encode()  # JSON-like ASCII, as intake events are
    await producer.send_and_wait(topic, value, key=b"warm-up")  # metadata and leaders, before the clock
    pending: deque[asyncio.Future[Any]] = deque()
    sent = acked = 0
    t0 = time.monotonic()
    stop, next_report = t0 + seconds, t0 + PROGRESS_S
    while (now := time.monotonic()) < stop:
        pending.append(await producer.send(topic, value, key=str(sent).encode()))
        sent += 1
        if len(pending) >= IN_FLIGHT:
            await pending.popleft()
            acked += 1
        if now >= next_report:
            console.print(f"  broker {now - t0:.0f} s: {acked:,} acknowledged, {acked / (now - t0):,.0f} msg/s")
            next_report += PROGRESS_S
    while pending:
        await pending.popleft()
        acked += 1
    return acked, time.monotonic() - t0


async def _broker_ceiling(topo: Topology, seconds: int) -> BrokerResult:
    bootstrap = topo.kafka_bootstrap()
    intake = topo.kafka.intake_topic
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    try:
        await asyncio.wait_for(admin.start(), timeout=15)
    except (KafkaError, TimeoutError) as exc:
        await admin.close()
        raise BenchError(f"Kafka not reachable at {', '.join(bootstrap)}: {exc!r}") from None
    topic = f"ccdr-bench.{secrets.token_hex(4)}"
    try:
        partitions, replication = topic_layout(await admin.describe_topics([intake]), intake)
        try:
            configs = [
                r.to_object()
                for r in await admin.describe_configs(
                    [ConfigResource(ConfigResourceType.TOPIC, intake, {"min.insync.replicas": None})]
                )
            ]
            min_isr, source = topic_config(configs, intake, "min.insync.replicas"), "intake topic"
        except Exception:  # noqa: BLE001 - the topology holds what the intake topic was created with
            min_isr, source = None, "topology"
        if min_isr is None:
            min_isr, source = str(topo.kafka.min_insync_replicas), "topology"
        created = await admin.create_topics(
            [
                NewTopic(
                    topic,
                    partitions,
                    replication,
                    topic_configs={"min.insync.replicas": min_isr, "unclean.leader.election.enable": "false"},
                )
            ]
        )
        failed = [(e[0], e[1]) for e in created.topic_errors if e[1]]
        if failed:
            raise BenchError(f"could not create the bench topic {topic}: Kafka error code {failed[0][1]}")
        console.print(
            f"  bench topic {topic}: {partitions} partitions, replication {replication}, "
            f"min.insync.replicas {min_isr} (from the {source})"
        )
        try:
            producer = acknowledged_producer(
                bootstrap,
                "ccdr-bench",
                linger_ms=INTAKE_LINGER_MS,
                request_timeout_ms=topo.intake.kafka_request_timeout_ms,
            )()
            await producer.start()
            try:
                messages, elapsed = await _produce(producer, topic, seconds)
            finally:
                await producer.stop()
        finally:
            try:
                await admin.delete_topics([topic])
            except KafkaError as exc:
                console.print(f"  [yellow]could not delete the bench topic {topic}: {exc!r}[/yellow]")
    finally:
        await admin.close()
    return BrokerResult(
        messages=messages,
        seconds=elapsed,
        message_bytes=MESSAGE_BYTES,
        in_flight=IN_FLIGHT,
        topic=topic,
        partitions=partitions,
        replication_factor=replication,
        min_insync_replicas=min_isr,
        settings_source=source,
    )


def run_broker_ceiling(topo: Topology, seconds: int) -> BrokerResult:
    """Phase 2: acknowledged produce rate to a bench topic shaped like the intake topic."""
    try:
        return asyncio.run(_broker_ceiling(topo, seconds))
    except KafkaError as exc:
        raise BenchError(f"broker phase failed: {exc!r}") from None


def _run_tickets(conn: psycopg.Connection[Any], since: datetime, run_id: str) -> list[TicketRow]:
    rows = conn.execute(
        "SELECT received_at, created_at, received_site FROM tickets WHERE created_at >= %s AND description LIKE %s",
        (since, f"%lt{run_id}u%"),
    ).fetchall()
    return [TicketRow(r[0], r[1], r[2]) for r in rows]


def _count_tickets(conn: psycopg.Connection[Any], since: datetime, run_id: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM tickets WHERE created_at >= %s AND description LIKE %s", (since, f"%lt{run_id}u%")
    ).fetchone()
    return int(row[0]) if row else 0


def run_intake(
    dsn: str, *, label: str, url: str, users: int, user_rate: float, seconds: int, drain_s: float
) -> IntakeRun:
    """Phases 3+4 (and 5): portal-only locust against `url`, then this run's tickets from the database."""
    # Hex has no 'u', so the marker prefix lt<run>u belongs to this run alone.
    run_id = "b" + secrets.token_hex(4)
    since = datetime.now(UTC) - timedelta(seconds=5)
    with tempfile.TemporaryDirectory(prefix="ccdr-bench-locust-") as workdir:
        prefix = Path(workdir) / "locust"
        command = [
            str(LOCUST),
            *("-f", str(LOCUSTFILE), "--headless", "--only-summary"),
            *("-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", url, "--csv", str(prefix)),
            *("--ccdr-mix", PORTAL_ONLY, "--ccdr-rate", f"{user_rate:g}", "--ccdr-run-id", run_id),
        ]
        log_path = Path(workdir) / "locust.log"
        stats_path = Path(f"{prefix}_stats.csv")

        def tick(elapsed: float) -> None:
            try:
                so_far = parse_stats_csv(stats_path.read_text(), users=users, rate_per_s=users * user_rate)
            except (OSError, ValueError, KeyError):
                return
            console.print(f"  {label} {elapsed:.0f} s: {so_far.requests:,} requests, {so_far.failures:,} failed")

        with log_path.open("wb") as log:
            proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            code = _supervise(proc, "locust", seconds + SUBPROCESS_GRACE_S, tick)
        if not stats_path.exists():
            tail = log_path.read_text(errors="replace")[-300:].replace("\n", " ")
            raise BenchError(f"locust wrote no statistics (exit {code}): {tail}")
        stats = parse_stats_csv(stats_path.read_text(), users=users, rate_per_s=users * user_rate)
        failures_path = Path(f"{prefix}_failures.csv")
        errors = parse_failures_csv(failures_path.read_text()) if failures_path.exists() else {}
    accepted = stats.requests - stats.failures
    console.print(f"  {label}: {accepted:,} accepted of {stats.requests:,}; waiting for their tickets")
    with _connect(dsn) as conn:
        start = changed = time.monotonic()
        next_report, count = start + PROGRESS_S, -1
        while (now := time.monotonic()) - start < drain_s:
            latest = _count_tickets(conn, since, run_id)
            if latest != count:
                count, changed = latest, now
            if backlog_drained(count, accepted, now - changed):
                break
            if now >= next_report:
                console.print(f"  {label}: {count:,} of {accepted:,} tickets committed")
                next_report += PROGRESS_S
            time.sleep(1.0)
        rows = _run_tickets(conn, since, run_id)
    return IntakeRun(
        label=label,
        url=url,
        run_id=run_id,
        users=users,
        user_rate=user_rate,
        seconds=seconds,
        requests=stats.requests,
        failures=stats.failures,
        accepted_per_s=accepted_rate(stats),
        http_p50_ms=stats.p50_ms,
        http_p99_ms=stats.p99_ms,
        errors=errors,
        e2e=end_to_end(rows, accepted),
    )


def _version(command: list[str]) -> str | None:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.strip().splitlines()[0] if out.strip() else None


def machine_info() -> dict[str, Any]:
    try:
        memory = parse_meminfo(Path("/proc/meminfo").read_text())
    except OSError:
        memory = None
    return {
        "cores": os.cpu_count(),
        "memory_bytes": memory,
        "load_average": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "pgbench": _version([str(PGBENCH), "--version"]),
        "locust": _version([str(LOCUST), "--version"]),
        "aiokafka": metadata.version("aiokafka"),
    }


def _primary_site(topo: Topology) -> str:
    members = probes.patroni_cluster(topo)
    if members is None:
        raise BenchError("Patroni does not answer at any data site: is the lab up (ccdr lab up)?")
    leaders = [m.name for m in members if m.role == "leader" and m.state == "running"]
    if len(leaders) != 1:
        raise BenchError(f"no single running PostgreSQL primary ({len(leaders)} leaders): is the lab converged?")
    return leaders[0]


def _phase(title: str) -> None:
    console.rule(title)


def _pause() -> None:
    time.sleep(PHASE_PAUSE_S)


def run_bench(
    *, seconds: int, clients: int, users: int, user_rate: float, site: str, drain_s: float, topology: Path | None = None
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
        password = lab_secrets.load(layout).app
    except OSError:
        raise BenchError(f"no lab secrets at {layout.secrets_file}: is the lab up (ccdr lab up)?") from None
    dsn = front_door_dsn(topo, topo.database.app_user, password, topo.database.name)
    db_settings = database_settings(dsn)
    primary = _primary_site(topo)
    fd = topo.front_door
    front_door_url = f"http://{fd.address}:{fd.intake_http}"
    site_url = f"http://{topo.sites[site].address}:{topo.ports.intake_http}"
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

    _phase(f"1/5 database ceiling: pgbench, {clients} clients, {seconds} s")
    database = run_database_ceiling(topo, password, clients, seconds)
    console.print(f"  {database.tps:,.1f} tx/s, latency {database.latency_ms} ms")
    _pause()

    _phase(f"2/5 broker ceiling: acks=all, idempotent, {IN_FLIGHT} in flight, {seconds} s (bench topic, not intake)")
    broker = run_broker_ceiling(topo, seconds)
    console.print(f"  {broker.rate_per_s:,.0f} msg/s acknowledged ({broker.mb_per_s:.1f} MB/s)")
    _pause()

    runs = []
    for number, (label, url) in enumerate((("front door", front_door_url), (f"site {site}", site_url)), start=3):
        _phase(f"{number}/5 intake and tickets, {label} ({url}): portal only, {users} users, {seconds} s")
        run = run_intake(dsn, label=label, url=url, users=users, user_rate=user_rate, seconds=seconds, drain_s=drain_s)
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

    settings = {
        "seconds": seconds,
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
        warnings=warnings,
    )


def main(
    seconds: Annotated[int, typer.Option(min=5, max=3600, help="Length of each phase.")] = 20,
    clients: Annotated[int, typer.Option(min=1, max=256, help="pgbench clients (phase 1).")] = 8,
    users: Annotated[int, typer.Option(min=1, max=2000, help="locust users (phases 3-5).")] = 32,
    user_rate: Annotated[float, typer.Option(min=0.1, help="Requests/s per locust user (an upper bound).")] = 50.0,
    site: Annotated[str, typer.Option(help="The site whose intake is measured alone (phase 5).")] = "a",
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
            topology=topology,
        )
    except (BenchError, TopologyError, psycopg.Error, KafkaError) as exc:
        message = str(exc) if isinstance(exc, BenchError | TopologyError) else f"{type(exc).__name__}: {exc}"
        Console(stderr=True).print(f"[red]error:[/red] {_headline(message)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    Console().print(render_table(result))
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    path = json_out or default_json_path(result.started_at)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document(result), indent=2, ensure_ascii=False) + "\n")
    console.print(f"figures written to {path}")


if __name__ == "__main__":
    typer.run(main)
