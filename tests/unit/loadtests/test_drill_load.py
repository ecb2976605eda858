"""Reading locust's stats CSV into the drill report's load figures."""

from __future__ import annotations

import pytest

from loadtests.drill_load import parse_stats_csv

HEADER = [
    "Type",
    "Name",
    "Request Count",
    "Failure Count",
    "Median Response Time",
    "Average Response Time",
    "Min Response Time",
    "Max Response Time",
    "Average Content Size",
    "Requests/s",
    "Failures/s",
    # locust's default percentile columns (importing locust here would monkey-patch this process)
    *("50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"),
]


def _row(kind: str, name: str, count: int, fails: int, p50: str, p99: str, rps: float) -> str:
    values = {h: "0" for h in HEADER} | {
        "Type": kind,
        "Name": name,
        "Request Count": str(count),
        "Failure Count": str(fails),
        "Requests/s": str(rps),
        "50%": p50,
        "99%": p99,
    }
    return ",".join(values[h] for h in HEADER)


def test_totals_and_per_channel_figures() -> None:
    text = "\n".join(
        [
            ",".join(HEADER),
            _row("POST", "portal", 100, 2, "12", "340", 4.0),
            _row("SMTP", "email", 50, 0, "N/A", "N/A", 2.0),
            _row("", "Aggregated", 150, 2, "14", "400", 6.0),
        ]
    )
    stats = parse_stats_csv(text, users=6, rate_per_s=6.0)
    assert (stats.requests, stats.failures, stats.p50_ms, stats.p99_ms) == (150, 2, 14.0, 400.0)
    assert stats.by_name["portal"] == {"requests": 100, "failures": 2, "rps": 4.0, "p50_ms": 12.0, "p99_ms": 340.0}
    assert stats.by_name["email"]["p99_ms"] == 0.0


def test_a_csv_without_totals_is_refused() -> None:
    with pytest.raises(ValueError, match="Aggregated"):
        parse_stats_csv(",".join(HEADER) + "\n" + _row("POST", "portal", 1, 0, "1", "1", 1.0), users=1, rate_per_s=1)
