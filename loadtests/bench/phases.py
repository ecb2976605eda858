"""`ccdr bench`'s phases on the running lab: pgbench, an acknowledged Kafka producer, locust, the tickets."""

from __future__ import annotations

import asyncio
import os
import platform
import secrets
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import psycopg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError
from rich.console import Console

from core.kafka import acknowledged_producer, connection_options
from infra.lab import probes
from infra.lab import secrets as lab_secrets
from infra.lab.database import front_door_dsn
from infra.lab.layout import PG_BIN_DIR
from infra.topology import Topology
from loadtests.bench.figures import (
    BenchError,
    BrokerResult,
    IntakeRun,
    PgbenchResult,
    TicketRow,
    accepted_rate,
    backlog_drained,
    end_to_end,
    headline,
    parse_failures_csv,
    parse_meminfo,
    parse_pgbench,
    topic_config,
    topic_layout,
)
from loadtests.drill_load import parse_stats_csv
from loadtests.locust_command import LOCUST, headless

PGBENCH = PG_BIN_DIR / "pgbench"
PGBENCH_THREADS = 2
BENCH_SCHEMA = "ccdr_bench"
BENCH_TABLE = f"{BENCH_SCHEMA}.bench_inserts"
ROW_BYTES = 1024  # repeat(md5(...), 32): 32 x 32 hex characters
# One ~1 KB row per transaction: what a ticket commit writes, roughly, minus its indexes and events.
PGBENCH_SCRIPT = f"INSERT INTO {BENCH_TABLE} (payload) VALUES (repeat(md5(random()::text), 32));\n"
MESSAGE_BYTES = 1536
IN_FLIGHT = 1000  # sends awaiting acknowledgement at once
INTAKE_LINGER_MS = 2  # core.intake.kafka.bus.KafkaIntakeBus's producer
PORTAL_ONLY = "portal=1"
PROGRESS_S = 5
SUBPROCESS_GRACE_S = 90  # beyond --seconds before a locust or pgbench run counts as hung
console = Console(stderr=True)


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


def _connect(dsn: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(dsn, autocommit=True)
    except psycopg.OperationalError as exc:
        raise BenchError(f"PostgreSQL not reachable through the front door: {headline(str(exc))}") from None


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


def run_database_ceiling(
    topo: Topology, password: str, clients: int, seconds: int, owner_password: str
) -> PgbenchResult:
    """Phase 1: pgbench INSERTs through the front door's primary port, as the app user (the schema
    owner makes the scratch table: the application role cannot create one)."""
    db = topo.database
    dsn = front_door_dsn(topo, db.owner_user, owner_password, db.name)
    with _connect(dsn) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {BENCH_SCHEMA}")
        conn.execute(f"DROP TABLE IF EXISTS {BENCH_TABLE}")
        conn.execute(
            f"CREATE TABLE {BENCH_TABLE} (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(),"
            " payload text NOT NULL)"
        )
        conn.execute(f"GRANT USAGE ON SCHEMA {BENCH_SCHEMA} TO {db.app_user}")
        conn.execute(f"GRANT INSERT ON {BENCH_TABLE} TO {db.app_user}")
        conn.execute(f"GRANT USAGE ON SEQUENCE {BENCH_TABLE}_id_seq TO {db.app_user}")
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
                raise BenchError(f"pgbench exited {code}: {headline(stderr)}")
            try:
                return parse_pgbench(stdout)
            except ValueError as exc:
                raise BenchError(f"pgbench: {exc}: {headline(stderr)}") from None
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
    auth = lab_secrets.kafka_auth(topo)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000, **connection_options(auth))
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
                auth=auth,
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
    dsn: str,
    *,
    label: str,
    url: str,
    users: int,
    user_rate: float,
    seconds: int,
    drain_s: float,
    ca: Path | None = None,
) -> IntakeRun:
    """Phases 3+4 (and 5): portal-only locust against `url`, then this run's tickets from the database."""
    # Hex has no 'u', so the marker prefix lt<run>u belongs to this run alone.
    run_id = "b" + secrets.token_hex(4)
    since = datetime.now(UTC) - timedelta(seconds=5)
    with tempfile.TemporaryDirectory(prefix="ccdr-bench-locust-") as workdir:
        prefix = Path(workdir) / "locust"
        command = headless(
            url, prefix, users=users, run_time_s=seconds, mix=PORTAL_ONLY, rate=user_rate, run_id=run_id, ca_file=ca
        )
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


def primary_site(topo: Topology) -> str:
    members = probes.patroni_cluster(topo)
    if members is None:
        raise BenchError("Patroni does not answer at any data site: is the lab up (ccdr lab up)?")
    leaders = [m.name for m in members if m.role == "leader" and m.state == "running"]
    if len(leaders) != 1:
        raise BenchError(f"no single running PostgreSQL primary ({len(leaders)} leaders): is the lab converged?")
    return leaders[0]
