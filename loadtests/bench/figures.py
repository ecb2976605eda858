"""`ccdr bench`'s pure parts: pgbench's summary, latency and rate arithmetic, ratios, the JSON and the table.

No I/O here: the phases (`loadtests.bench.phases`) measure, these functions turn what they measured into figures.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.table import Table

from drills.report import LoadStats

SCHEMA = "ccdr.bench/1"
QUIET_S = 3.0  # no new ticket for this long: the consumer has nothing left of the run


class BenchError(Exception):
    """The benchmark cannot run or a phase failed; the message is one line for the operator."""


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
class DrainRun:
    """The ticket workers working off a backlog of intake events (loadtests.bench.drain)."""

    label: str  # "both sites" or "site b alone"
    sites: list[str]
    events: int
    applied: int
    first_after_start_s: float  # worker start -> first ticket: process start, group join, first batch
    drain_s: float  # first ticket -> last ticket
    total_s: float  # worker start -> last ticket

    @property
    def rate_per_s(self) -> float | None:
        return self.applied / self.drain_s if self.drain_s > 0 else None


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
    drains: list[DrainRun] = field(default_factory=list)
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
        *(f for number, drain in enumerate(result.drains) for f in _drain_figures(f"drain_{number}", drain)),
    ]


def _drain_figures(prefix: str, run: DrainRun) -> list[Figure]:
    complete = "complete" if run.applied == run.events else f"INCOMPLETE: {run.applied} of {run.events}"
    return [
        Figure(f"{prefix}.tickets_per_s", f"Backlog drain rate, {run.label}", run.rate_per_s, "tickets/s", complete),
        Figure(f"{prefix}.first_s", f"Worker start -> first ticket, {run.label}", run.first_after_start_s, "s"),
        Figure(f"{prefix}.total_s", f"Worker start -> {run.events:,} tickets, {run.label}", run.total_s, "s"),
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
        *_drain_ratios(result),
    ]


def _drain_ratios(result: BenchResult) -> list[Figure]:
    if not result.drains:
        return []
    both = result.drains[0]
    out = [
        Figure(
            "drain_vs_database",
            f"Backlog drain ({both.label}) / DB INSERT ceiling",
            ratio(both.rate_per_s, result.database.tps),
            "ratio",
            "(6)/(1)",
        )
    ]
    for alone in result.drains[1:]:
        out.append(
            Figure(
                f"drain_{'_'.join(alone.sites)}_vs_database",
                f"Backlog drain ({alone.label}) / DB INSERT ceiling",
                ratio(alone.rate_per_s, result.database.tps),
                "ratio",
                "(7)/(1)",
            )
        )
    return out


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
    previous = None
    for figure in figures(result):
        group = figure.key.split(".", 1)[0]  # a section per phase
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


def headline(text: str) -> str:
    """The first line that names an error (later ones are consequences), else the first line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "fatal" in line.lower()]
    return (errors or lines or ["no output"])[0]
