"""Capacity and knee from per-step rows, and steps read back from locust's stats history CSV."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from loadtests.knee import (
    OVERALL,
    REQUIRED_COLUMNS,
    StepStats,
    find_capacity,
    main,
    parse_stats_history,
    report,
    steps_from_history,
)
from loadtests.slo import SloLimits

LIMITS = SloLimits(p99_ms=1000, error_ratio=0.01)
# The header locust 2.47 writes (StatsCSV.stats_history_csv_columns with PERCENTILES_TO_REPORT).
HEADER = (
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,"
    "Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,"
    "Total Min Response Time,Total Max Response Time,Total Average Content Size"
)


def step(n: int, p99: float, errors: float = 0.0, name: str = OVERALL) -> StepStats:
    return StepStats(step=n, users=10 + 10 * n, rps=9.5 * (n + 1), p99_ms=p99, error_ratio=errors, name=name)


def test_capacity_is_the_last_passing_step_before_the_knee() -> None:
    rows = [step(0, 120), step(1, 180), step(2, 450), step(3, 1400), step(4, 900)]
    result = find_capacity(rows, LIMITS)[OVERALL]
    assert result.capacity == rows[2]
    assert result.knee == rows[3]
    assert result.reason == "SLO breached: p99 1400 ms > 1000 ms"


def test_errors_alone_make_a_knee() -> None:
    result = find_capacity([step(0, 100), step(1, 100, errors=0.05)], LIMITS)[OVERALL]
    assert result.capacity is not None and result.capacity.step == 0
    assert result.knee is not None and result.knee.step == 1


def test_no_step_meets_the_slo() -> None:
    result = find_capacity([step(0, 2000), step(1, 3000)], LIMITS)[OVERALL]
    assert result.capacity is None and result.knee is not None and result.knee.step == 0
    assert "capacity none" in report({OVERALL: result})[0]


def test_every_step_meets_the_slo() -> None:
    result = find_capacity([step(1, 100), step(0, 90)], LIMITS)[OVERALL]
    assert result.knee is None and result.capacity is not None and result.capacity.step == 1
    assert "beyond the last step" in result.reason


def test_per_name_and_overall() -> None:
    rows = [step(0, 100), step(1, 200), step(0, 300, name="email"), step(1, 1200, name="email")]
    result = find_capacity(rows, LIMITS)
    assert result[OVERALL].knee is None
    assert result["email"].knee is not None and result["email"].knee.step == 1
    lines = report(result)
    assert lines[0].startswith(f"{OVERALL}: capacity 20 users") and lines[1].startswith("email: capacity 10 users")


def history(steps: list[tuple[int, int, float]], names: tuple[str, ...] = ("portal", OVERALL)) -> str:
    """A stats history: for each (users, seconds, p99) a run of rows, one per name per second, 10 req/s."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER.split(","))
    t, total, failures = 1_700_000_000, 0, 0
    for users, seconds, p99 in steps:
        for _ in range(seconds):
            t += 1
            total += 10
            failures += 1 if p99 > 1000 else 0
            for name in names:
                percentiles = [p99 // 2] * 7 + [p99] + [p99] * 3
                kind = "" if name == OVERALL else "POST"
                writer.writerow(
                    [t, users, kind, name, "10.000000", "0.000000", *percentiles, total, failures, 50, 60, 5, 900, 120]
                )
    return out.getvalue()


def test_steps_are_runs_of_one_user_count_and_ramps_are_dropped() -> None:
    text = history([(0, 3, 0), (10, 40, 200), (15, 2, 300), (20, 40, 500), (30, 40, 1500)])
    steps = [s for s in steps_from_history(parse_stats_history(text)) if s.name == OVERALL]
    assert [(s.step, s.users) for s in steps] == [(0, 10), (1, 20), (2, 30)]
    assert steps[0].rps == pytest.approx(10.0)
    assert steps[1].p99_ms == 500 and steps[2].error_ratio == pytest.approx(0.1)
    result = find_capacity(steps_from_history(parse_stats_history(text)), LIMITS)
    capacity = result[OVERALL].capacity
    assert capacity is not None and capacity.users == 20
    assert result["portal"].knee is not None and result["portal"].knee.users == 30


def test_settling_skips_the_window_that_still_holds_the_previous_step() -> None:
    rows = parse_stats_history(history([(10, 30, 200), (20, 30, 400)]))
    # The first 5 s of the second step still report the first step's p99: they must not count.
    start = rows[0].timestamp + 30
    shifted = [replace(r, p99_ms=5000.0) if start <= r.timestamp < start + 5 else r for r in rows]
    steps = [s for s in steps_from_history(shifted) if s.name == OVERALL]
    assert [s.p99_ms for s in steps] == [200, 400]
    unsettled = [s for s in steps_from_history(shifted, settle_s=0) if s.name == OVERALL]
    assert [s.p99_ms for s in unsettled] == [200, 5000]


def test_not_a_stats_history_names_the_missing_columns() -> None:
    with pytest.raises(ValueError, match="Total Request Count"):
        parse_stats_history("Type,Name,Request Count\n")


def test_na_percentiles_before_the_first_request() -> None:
    text = HEADER + "\n" + "1700000000,0,,Aggregated,0.000000,0.000000," + ",".join(["N/A"] * 11) + ",0,0,0,0,0,0,0\n"
    (row,) = parse_stats_history(text)
    assert row.p99_ms is None and steps_from_history([row]) == []


def test_header_matches_the_installed_locust(tmp_path: Path) -> None:
    # A subprocess: importing locust monkey-patches the interpreter with gevent.
    code = (
        "import sys; from locust.stats import PERCENTILES_TO_REPORT, StatsCSVFileWriter;"
        "w = StatsCSVFileWriter(None, PERCENTILES_TO_REPORT, sys.argv[1]); w.close_files();"
        "print(','.join(w.stats_history_csv_columns))"
    )
    header = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "probe")], capture_output=True, text=True, check=True, timeout=60
    )
    assert header.stdout.strip() == HEADER
    assert set(REQUIRED_COLUMNS) <= set(HEADER.split(","))


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "run_stats_history.csv"
    path.write_text(history([(10, 30, 200), (20, 30, 1500)]))
    assert main([str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "Aggregated: capacity 10 users, 10.0 req/s; "
        "knee step 1 at 20 users (SLO breached: p99 1500 ms > 1000 ms; error ratio 10.00% > 1.00%)"
    )
