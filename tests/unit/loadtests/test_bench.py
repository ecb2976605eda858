"""`ccdr bench`'s pure parts: pgbench output, latency and rate arithmetic, ratios, the JSON and the table."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from drills.report import LoadStats
from loadtests.bench import cli, phases
from loadtests.bench.figures import (
    SCHEMA,
    BenchError,
    BenchResult,
    BrokerResult,
    DrainRun,
    EndToEnd,
    IntakeRun,
    PgbenchResult,
    TicketRow,
    accepted_rate,
    backlog_drained,
    default_json_path,
    document,
    end_to_end,
    figures,
    format_value,
    headline,
    parse_failures_csv,
    parse_meminfo,
    parse_pgbench,
    percentile,
    ratio,
    ratios,
    render_table,
    topic_config,
    topic_layout,
)
from loadtests.bench.phases import pgbench_command

ROOT = Path(__file__).resolve().parents[3]
# What pgbench 15.18 (Debian 12) prints on stdout for `-n -c 4 -j 2 -T 2 -f insert.sql`.
PGBENCH_15 = """\
pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: /tmp/ccdr-bench-pgbench-x/insert.sql
scaling factor: 1
query mode: simple
number of clients: 4
number of threads: 2
maximum number of tries: 1
duration: 2 s
number of transactions actually processed: 2879
number of failed transactions: 0 (0.000%)
latency average = 2.779 ms
initial connection time = 17.705 ms
tps = 1439.520153 (without initial connection time)
"""
# The same with -P (progress): pgbench then adds the latency's standard deviation.
PGBENCH_15_PROGRESS = """\
pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: /tmp/s.sql
scaling factor: 1
query mode: simple
number of clients: 1
number of threads: 1
maximum number of tries: 1
duration: 2 s
number of transactions actually processed: 2582
number of failed transactions: 0 (0.000%)
latency average = 0.772 ms
latency stddev = 1.283 ms
initial connection time = 5.456 ms
tps = 1294.385465 (without initial connection time)
"""
# An aborted run (the table was missing): no latency, no tps.
PGBENCH_15_ABORTED = """\
pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: /tmp/s.sql
scaling factor: 1
query mode: simple
number of clients: 2
number of threads: 2
maximum number of tries: 1
duration: 1 s
number of transactions actually processed: 0
number of failed transactions: 0 (NaN%)
"""
T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# -- pgbench -------------------------------------------------------------------------------------


def test_pgbench_15_summary_is_read() -> None:
    result = parse_pgbench(PGBENCH_15)
    assert result == PgbenchResult(
        tps=1439.520153, latency_ms=2.779, transactions=2879, failed=0, clients=4, threads=2, duration_s=2.0
    )


def test_pgbench_summary_with_progress_lines_is_read() -> None:
    result = parse_pgbench(PGBENCH_15_PROGRESS)
    assert (result.tps, result.latency_ms, result.clients, result.threads) == (1294.385465, 0.772, 1, 1)


def test_an_aborted_pgbench_run_is_refused() -> None:
    with pytest.raises(ValueError, match="tps"):
        parse_pgbench(PGBENCH_15_ABORTED)


def test_pgbench_command_carries_no_password() -> None:
    command = pgbench_command(
        host="127.0.0.1", port=15432, user="ccdr_app", dbname="ccdr", clients=8, seconds=20, script=Path("/x.sql")
    )
    assert command[0].endswith("/15/bin/pgbench")
    joined = " ".join(command)
    for expected in ("-h 127.0.0.1", "-p 15432", "-U ccdr_app", " -n ", "-c 8", "-j 2", "-T 20", "-f /x.sql"):
        assert expected in joined
    assert command[-1] == "ccdr"
    assert not any("password" in part.lower() for part in command)


def test_the_bench_script_inserts_one_kilobyte_row() -> None:
    assert phases.PGBENCH_SCRIPT.count("INSERT") == 1
    assert "repeat(md5(random()::text), 32)" in phases.PGBENCH_SCRIPT  # 32 x 32 hex characters
    assert phases.BENCH_TABLE.startswith(phases.BENCH_SCHEMA + ".")


# -- percentiles, latency, rates -----------------------------------------------------------------


def test_percentile_interpolates_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0  # unsorted input
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_end_to_end_rate_latency_and_drain() -> None:
    # Intakes arrive over 10 s, one per second (t=0..10); each ticket is committed 100 ms later,
    # except the last three which wait in a backlog until t=13.
    rows = [TicketRow(at(s), at(s + 0.1), "a" if s % 2 else "b") for s in range(8)]
    rows += [TicketRow(at(s), at(13), "a") for s in (8, 9, 10)]
    e2e = end_to_end(rows, accepted=11)
    assert e2e.tickets == 11
    assert e2e.drained
    # committed within the arrival window [0, 10]: the first eight
    assert e2e.rate_per_s == pytest.approx(8 / 10)
    assert e2e.drain_s == pytest.approx(3.0)
    assert e2e.p50_ms == pytest.approx(100.0)
    assert e2e.max_ms == pytest.approx(5000.0)
    assert e2e.p99_ms is not None and 4000 < e2e.p99_ms <= 5000
    assert e2e.by_site == {"a": 7, "b": 4}


def test_end_to_end_reports_a_backlog_that_did_not_drain() -> None:
    rows = [TicketRow(at(s), at(s + 0.05), "a") for s in range(5)]
    e2e = end_to_end(rows, accepted=8)
    assert not e2e.drained
    assert (e2e.tickets, e2e.accepted) == (5, 8)
    assert e2e.drain_s == pytest.approx(0.05)


def test_end_to_end_without_tickets_has_no_figures() -> None:
    e2e = end_to_end([], accepted=0)
    assert (e2e.rate_per_s, e2e.p50_ms, e2e.p99_ms, e2e.drain_s) == (None, None, None, None)
    assert e2e.drained
    assert end_to_end([TicketRow(at(0), at(1), "a")], accepted=1).rate_per_s is None  # no window


def test_accepted_rate_is_locusts_rate_times_the_success_share() -> None:
    stats = LoadStats(
        users=32,
        rate_per_s=1600,
        requests=1000,
        failures=100,
        by_name={"portal": {"rps": 75.0}, "mobile": {"rps": 25.0}},
    )
    assert accepted_rate(stats) == pytest.approx(90.0)
    assert accepted_rate(LoadStats(users=1, rate_per_s=1, requests=0, failures=0)) == 0.0


def test_failures_csv_is_counted_per_error() -> None:
    text = (
        "Method,Name,Error,Occurrences\n"
        "POST,portal,HTTP 503 Event bus unavailable,12\n"
        "POST,mobile,HTTP 503 Event bus unavailable,3\n"
        "POST,portal,no response: ConnectionRefusedError,1\n"
        "POST,portal,CatchResponseError('HTTP 503 Event bus unavailable'),2\n"
    )
    assert parse_failures_csv(text) == {"HTTP 503 Event bus unavailable": 17, "no response: ConnectionRefusedError": 1}


def test_the_backlog_is_drained_when_every_ticket_is_in_and_none_came_lately() -> None:
    assert backlog_drained(100, 100, quiet_s=3.0)
    assert backlog_drained(104, 100, quiet_s=5.0)  # locust's last CSV lags the run's end
    assert not backlog_drained(104, 100, quiet_s=1.0)  # tickets are still arriving
    assert not backlog_drained(99, 100, quiet_s=60.0)


class FakeProducer:
    """Acknowledges every send a moment later, and counts what is outstanding."""

    def __init__(self) -> None:
        self.sent = 0
        self.outstanding = 0
        self.most_outstanding = 0
        self.keys: set[bytes] = set()

    async def send_and_wait(self, topic: str, value: bytes, key: bytes) -> None:
        assert len(value) == phases.MESSAGE_BYTES

    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[None]:
        self.sent += 1
        self.keys.add(key)
        self.outstanding += 1
        self.most_outstanding = max(self.most_outstanding, self.outstanding)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def ack() -> None:
            self.outstanding -= 1
            future.set_result(None)

        asyncio.get_running_loop().call_later(0.001, ack)
        return future


def test_the_producer_keeps_a_window_in_flight_and_counts_every_ack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(phases, "IN_FLIGHT", 20)
    producer = FakeProducer()
    acked, elapsed = asyncio.run(phases._produce(producer, "ccdr-bench.x", 0.2))
    assert acked == producer.sent > 20
    assert producer.most_outstanding == 20
    assert producer.outstanding == 0
    assert len(producer.keys) == producer.sent  # distinct keys spread over the partitions
    assert elapsed >= 0.2


# -- ratios and small parsers --------------------------------------------------------------------


def test_ratio_with_zero_or_missing_denominator() -> None:
    assert ratio(50, 200) == 0.25
    assert ratio(50, 0) is None
    assert ratio(None, 10) is None
    assert ratio(10, None) is None
    assert ratio(0, 10) == 0.0


def test_topic_layout_and_config_from_admin_answers() -> None:
    described = [
        {"error_code": 0, "topic": "other", "partitions": [{"partition": 0, "replicas": [1]}]},
        {
            "error_code": 0,
            "topic": "intake.v1",
            "partitions": [{"partition": p, "replicas": [1, 2], "isr": [1, 2]} for p in range(6)],
        },
    ]
    assert topic_layout(described, "intake.v1") == (6, 2)
    with pytest.raises(BenchError, match=r"intake\.v1"):
        topic_layout([{"error_code": 3, "topic": "intake.v1", "partitions": []}], "intake.v1")
    configs = [
        {
            "throttle_time_ms": 0,
            "resources": [
                {
                    "error_code": 0,
                    "resource_name": "intake.v1",
                    "config_entries": [{"config_names": "min.insync.replicas", "config_value": "1"}],
                }
            ],
        }
    ]
    assert topic_config(configs, "intake.v1", "min.insync.replicas") == "1"
    assert topic_config(configs, "intake.v1", "retention.ms") is None
    assert topic_config(configs, "other", "min.insync.replicas") is None


def test_meminfo_total() -> None:
    assert parse_meminfo("MemTotal:       24684544 kB\nMemFree:  1 kB\n") == 24684544 * 1024
    assert parse_meminfo("nothing") is None


def test_default_json_path_is_a_utc_timestamp() -> None:
    assert default_json_path(at(0)) == Path("bench-results/20250601T080000Z.json")


# -- the document and the table ------------------------------------------------------------------


def _run(label: str, accepted_per_s: float, e2e: EndToEnd) -> IntakeRun:
    return IntakeRun(
        label=label,
        url="http://127.0.0.1:18080",
        run_id="b0123abcd",
        users=32,
        user_rate=50.0,
        seconds=20,
        requests=9000,
        failures=12,
        accepted_per_s=accepted_per_s,
        http_p50_ms=21.0,
        http_p99_ms=180.0,
        errors={"HTTP 503 Event bus unavailable": 12},
        e2e=e2e,
    )


@pytest.fixture
def result() -> BenchResult:
    e2e = EndToEnd(
        tickets=8988,
        accepted=8988,
        rate_per_s=298.4,
        p50_ms=35.2,
        p99_ms=912.7,
        max_ms=1500.0,
        drain_s=4.3,
        drained=True,
        by_site={"a": 4500, "b": 4488},
    )
    alone = EndToEnd(
        tickets=5000,
        accepted=5100,
        rate_per_s=211.9,
        p50_ms=30.1,
        p99_ms=640.2,
        max_ms=700.0,
        drain_s=None,
        drained=False,
        by_site={"a": 5000},
    )
    return BenchResult(
        started_at=at(0),
        finished_at=at(190),
        command="ccdr bench --seconds 20",
        machine={"cores": 2, "memory_bytes": 24 * 2**30, "load_average": "1.20 0.80 0.50", "kernel": "Linux 6.1"},
        settings={
            "seconds": 20,
            "pgbench_clients": 8,
            "site": "a",
            "synchronous_commit": "on",
            "synchronous_standby_names": '"b"',
        },
        database=PgbenchResult(
            tps=812.6, latency_ms=9.84, transactions=16252, failed=0, clients=8, threads=2, duration_s=20
        ),
        broker=BrokerResult(
            messages=123_456,
            seconds=20.0,
            message_bytes=1536,
            in_flight=1000,
            topic="ccdr-bench.0a1b2c3d",
            partitions=6,
            replication_factor=2,
            min_insync_replicas="1",
            settings_source="intake topic",
        ),
        front_door=_run("front door", 449.4, e2e),
        one_site=_run("site a", 0.0, alone),
        drains=[
            DrainRun("both sites", ["a", "b"], 20_000, 20_000, 3.2, 16.5, 19.7),
            DrainRun("site a alone", ["a"], 20_000, 20_000, 3.0, 23.7, 26.7),
        ],
        warnings=["site a: only 5000 of 5100 accepted intakes became tickets"],
    )


def test_ratios_of_the_figures(result: BenchResult) -> None:
    by_key = {f.key: f.value for f in ratios(result)}
    assert by_key["intake_vs_broker"] == pytest.approx(449.4 / (123_456 / 20))
    assert by_key["tickets_vs_database"] == pytest.approx(298.4 / 812.6)
    assert by_key["one_site_vs_both"] == pytest.approx(0.0)
    assert by_key["drain_vs_database"] == pytest.approx(20_000 / 16.5 / 812.6)
    assert by_key["drain_a_vs_database"] == pytest.approx(20_000 / 23.7 / 812.6)


def test_the_table_shows_every_phase_with_the_drains(result: BenchResult) -> None:
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(render_table(result))
    text = console.export_text()
    assert "Backlog drain rate, both sites" in text and "1,212.1" in text
    assert "Backlog drain rate, site a alone" in text and "843.9" in text


def test_one_site_ratio_with_nothing_accepted_at_the_front_door(result: BenchResult) -> None:
    from dataclasses import replace

    idle = replace(result, front_door=replace(result.front_door, accepted_per_s=0.0))
    assert {f.key: f.value for f in ratios(idle)}["one_site_vs_both"] is None


def test_document_shape(result: BenchResult) -> None:
    doc = json.loads(json.dumps(document(result)))  # plain JSON all the way down
    assert doc["schema"] == SCHEMA
    assert set(doc) == {
        "schema",
        "started_at",
        "finished_at",
        "command",
        "machine",
        "settings",
        "figures",
        "ratios",
        "phases",
        "warnings",
    }
    assert doc["started_at"] == "2025-06-01T08:00:00+00:00"
    assert doc["figures"]["database.insert_tps"] == {
        "label": "DB ceiling: 1 KB INSERT commits (pgbench)",
        "value": 812.6,
        "unit": "tx/s",
        "note": '8 clients, synchronous standby: "b"',
    }
    assert doc["figures"]["broker.acked_per_s"]["value"] == pytest.approx(6172.8)
    assert doc["figures"]["front_door.tickets_per_s"]["value"] == 298.4
    assert doc["figures"]["one_site.drain_s"]["value"] is None
    assert set(doc["ratios"]) == {
        "intake_vs_broker",
        "tickets_vs_database",
        "one_site_vs_both",
        "drain_vs_database",
        "drain_a_vs_database",
    }
    assert doc["phases"]["broker"]["topic"] == "ccdr-bench.0a1b2c3d"
    assert doc["phases"]["front_door"]["e2e"]["by_site"] == {"a": 4500, "b": 4488}
    assert doc["phases"]["database"]["tps"] == 812.6
    assert doc["warnings"] == result.warnings
    for entry in [*doc["figures"].values(), *doc["ratios"].values()]:
        assert set(entry) == {"label", "value", "unit", "note"}


def test_the_table_shows_every_figure_and_ratio(result: BenchResult) -> None:
    out = io.StringIO()
    Console(file=out, width=400, color_system=None).print(render_table(result))
    text = out.getvalue()
    for figure in [*figures(result), *ratios(result)]:
        assert figure.label in text, figure.key
        assert format_value(figure.value, figure.unit) in text, figure.key
    for expected in ("812.6", "6,172.8", "449.4", "298.4", "912.7", "0.367", "n/a", "NOT drained: 5000 of 5100"):
        assert expected in text
    for expected in ("2 cores", "24.0 GiB", "pgbench_clients=8", "command: ccdr bench --seconds 20"):
        assert expected in text


def test_format_value() -> None:
    assert format_value(None, "ms") == "n/a"
    assert format_value(0.36734, "ratio") == "0.367"
    assert format_value(9000, "req") == "9,000"
    assert format_value(1439.52, "tx/s") == "1,439.5"


# -- the command ---------------------------------------------------------------------------------


def test_importing_the_bench_pulls_in_neither_locust_nor_gevent() -> None:
    probe = (
        "import sys, loadtests.bench\nprint(sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_lab_that_is_not_up_is_one_line_and_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    def down(**_: object) -> BenchResult:
        raise BenchError("Patroni does not answer at any data site: is the lab up (ccdr lab up)?")

    monkeypatch.setattr(cli, "run_bench", down)
    app = typer.Typer()
    app.command()(cli.main)
    outcome = CliRunner().invoke(app, ["--seconds", "5"])
    assert outcome.exit_code == 1
    assert "error: Patroni does not answer" in outcome.output
    assert "Traceback" not in outcome.output


def test_ccdr_lists_the_bench_command_and_its_options() -> None:
    from ccdr.cli import app

    outcome = CliRunner().invoke(app, ["bench", "--help"])
    assert outcome.exit_code == 0, outcome.output
    options = ("--seconds", "--clients", "--users", "--user-rate", "--site", "--drain-timeout", "--json", "--topology")
    for option in options:
        assert option in outcome.output


def test_a_failed_pgbench_is_told_by_its_first_error() -> None:
    stderr = (
        'pgbench: error: connection to server at "127.0.0.1", port 15432 failed: Connection refused\n'
        "\tIs the server running on that host and accepting TCP/IP connections?\n"
        "pgbench: error: could not create connection for setup\n"
    )
    assert headline(stderr).endswith("port 15432 failed: Connection refused")
    assert headline("connection failed: timeout expired\n\tmore") == "connection failed: timeout expired"
    assert headline("") == "no output"
