"""Capacity and knee of a step test, from locust's `<prefix>_stats_history.csv`. Pure, standard library only.

Run the step shape with `--csv <prefix> --csv-full-history`: with full history locust writes one row
per request name per second whose percentiles cover the last ~10 s (its "current" window);
without it there is only the "Aggregated" row and its percentiles are cumulative since the start,
which smears every step into the ones before it.

A step is a run of rows at the same user count lasting at least `min_step_s` (shorter runs are the
ramps between steps). Within a step the first `settle_s` seconds are skipped, because the 10-s
window still holds the previous step's requests. Per step: rps and error ratio from the growth of
the cumulative counters over the settled part, p99 as the worst settled window (a step meets the
SLO only if every window in it did).

The capacity is the last step meeting the SLO before the first one that does not (the knee);
a later step that happens to pass again is noise past saturation, not capacity.

    python -m loadtests.knee out_stats_history.csv [--slo-p99-ms 1000] [--slo-error-ratio 0.01]
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby

from loadtests.slo import SloLimits, slo_verdict

OVERALL = "Aggregated"  # locust's name for the all-requests row
REQUIRED_COLUMNS = (
    "Timestamp",
    "User Count",
    "Type",
    "Name",
    "Requests/s",
    "Failures/s",
    "99%",
    "Total Request Count",
    "Total Failure Count",
)


@dataclass(frozen=True)
class HistoryRow:
    timestamp: int
    users: int
    name: str
    rps: float
    fails_per_s: float
    p99_ms: float | None  # None: locust wrote N/A (no request yet)
    total_requests: int
    total_failures: int


@dataclass(frozen=True)
class StepStats:
    step: int  # 0-based, in the order the steps ran
    users: int
    rps: float
    p99_ms: float
    error_ratio: float
    name: str = OVERALL
    duration_s: float = 0.0


@dataclass(frozen=True)
class Capacity:
    name: str
    capacity: StepStats | None  # the highest step meeting the SLO before the knee; None if the first step failed
    knee: StepStats | None  # the first step breaking it; None if no step did (capacity not reached)
    reason: str  # why the knee failed, or why there is none


def find_capacity(rows: Iterable[StepStats], limits: SloLimits) -> dict[str, Capacity]:
    """Per request name (and `Aggregated`, the whole run): capacity and knee."""
    by_name: dict[str, list[StepStats]] = {}
    for row in rows:
        by_name.setdefault(row.name, []).append(row)
    result = {}
    for name, steps in by_name.items():
        capacity: StepStats | None = None
        knee: StepStats | None = None
        reason = "every step met the SLO: the knee lies beyond the last step"
        for step in sorted(steps, key=lambda s: s.step):
            ok, why = slo_verdict(step.p99_ms, step.error_ratio, limits)
            if not ok:
                knee, reason = step, why
                break
            capacity = step
        result[name] = Capacity(name, capacity, knee, reason)
    return result


def parse_stats_history(text: str) -> list[HistoryRow]:
    """The rows of a stats-history CSV; a missing column is an error that names it."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"not a locust stats history: missing column(s) {', '.join(missing)}")
    rows = []
    for record in reader:
        p99 = record["99%"].strip()
        rows.append(
            HistoryRow(
                timestamp=int(float(record["Timestamp"])),
                users=int(float(record["User Count"])),
                name=record["Name"],
                rps=float(record["Requests/s"]),
                fails_per_s=float(record["Failures/s"]),
                p99_ms=None if p99 in ("", "N/A") else float(p99),
                total_requests=int(float(record["Total Request Count"])),
                total_failures=int(float(record["Total Failure Count"])),
            )
        )
    return rows


def steps_from_history(rows: Sequence[HistoryRow], settle_s: float = 10.0, min_step_s: float = 20.0) -> list[StepStats]:
    """Group rows into steps by the user count of the `Aggregated` rows; summarise each name per step."""
    timeline = sorted({(r.timestamp, r.users) for r in rows if r.name == OVERALL})
    spans: list[tuple[int, int, int]] = []  # (users, first timestamp, last timestamp)
    for users, run in groupby(timeline, key=lambda t: t[1]):
        stamps = [t for t, _ in run]
        if users > 0 and stamps[-1] - stamps[0] >= min_step_s:
            spans.append((users, stamps[0], stamps[-1]))
    by_name: dict[str, list[HistoryRow]] = {}
    for row in sorted(rows, key=_ts):
        by_name.setdefault(row.name, []).append(row)
    out = []
    for index, (users, first, last) in enumerate(spans):
        for name, named in sorted(by_name.items()):
            inside = [r for r in named if first <= r.timestamp <= last]
            settled = [r for r in inside if r.timestamp >= first + settle_s]
            summary = _summarise(settled if len(settled) >= 2 else inside)
            if summary is not None:
                rps, p99, errors = summary
                out.append(StepStats(index, users, rps, p99, errors, name, float(last - first)))
    return out


def _ts(row: HistoryRow) -> int:
    return row.timestamp


def _summarise(rows: list[HistoryRow]) -> tuple[float, float, float] | None:
    """(rps, worst p99, error ratio) over rows of one name, or None if it made no request there."""
    windows = [r.p99_ms for r in rows if r.p99_ms is not None]
    if not rows or not windows:
        return None
    first, last = rows[0], rows[-1]
    requests = last.total_requests - first.total_requests
    failures = last.total_failures - first.total_failures
    elapsed = last.timestamp - first.timestamp
    if elapsed > 0 and requests >= 0 and failures >= 0:
        rps = requests / elapsed
        errors = failures / requests if requests else 0.0
    else:  # a single row, or counters reset (--reset-stats): fall back to locust's current rates
        rps = sum(r.rps for r in rows) / len(rows)
        fails = sum(r.fails_per_s for r in rows) / len(rows)
        errors = fails / rps if rps else 0.0
    return rps, max(windows), errors


def report(capacities: dict[str, Capacity]) -> list[str]:
    """One line per name, the overall first."""
    lines = []
    for name in sorted(capacities, key=lambda n: (n != OVERALL, n)):
        c = capacities[name]
        cap = f"{c.capacity.users} users, {c.capacity.rps:.1f} req/s" if c.capacity else "none (first step failed)"
        knee = f"step {c.knee.step} at {c.knee.users} users ({c.reason})" if c.knee else c.reason
        lines.append(f"{name}: capacity {cap}; knee {knee}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="capacity and knee of a locust step test")
    parser.add_argument("history", help="<prefix>_stats_history.csv written with --csv-full-history")
    parser.add_argument("--slo-p99-ms", type=float, default=SloLimits.p99_ms)
    parser.add_argument("--slo-error-ratio", type=float, default=SloLimits.error_ratio)
    parser.add_argument("--settle-s", type=float, default=10.0)
    parser.add_argument("--min-step-s", type=float, default=20.0)
    args = parser.parse_args(argv)
    with open(args.history, encoding="utf-8") as handle:
        rows = parse_stats_history(handle.read())
    steps = steps_from_history(rows, args.settle_s, args.min_step_s)
    if not steps:
        print("no step lasted long enough to judge", file=sys.stderr)
        return 2
    for line in report(find_capacity(steps, SloLimits(args.slo_p99_ms, args.slo_error_ratio))):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
