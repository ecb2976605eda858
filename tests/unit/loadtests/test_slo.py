"""The SLO gate's verdict: met at the limit, breached above it, and a run that measured nothing fails."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from loadtests.slo import SloLimits, judge, slo_verdict

LIMITS = SloLimits(p99_ms=1000, error_ratio=0.01)


def test_met_at_the_limits() -> None:
    ok, reason = slo_verdict(1000, 0.01, LIMITS)
    assert ok and reason == "SLO met: p99 1000 ms <= 1000 ms, error ratio 1.00% <= 1.00%"


def test_breached_by_latency() -> None:
    assert slo_verdict(1001, 0, LIMITS) == (False, "SLO breached: p99 1001 ms > 1000 ms")


def test_breached_by_errors() -> None:
    assert slo_verdict(20, 0.0125, LIMITS) == (False, "SLO breached: error ratio 1.25% > 1.00%")


def test_both_breaches_are_named() -> None:
    ok, reason = slo_verdict(2500, 0.5, LIMITS)
    assert not ok and "p99 2500 ms > 1000 ms" in reason and "error ratio 50.00% > 1.00%" in reason


@pytest.mark.parametrize(("p99", "ratio"), [(0, 0.01), (-1, 0.01), (1000, -0.1), (1000, 1.5)])
def test_limits_are_checked(p99: float, ratio: float) -> None:
    with pytest.raises(ValueError):
        SloLimits(p99, ratio)


def environment(requests: int, p99: int, fail_ratio: float) -> Any:
    total = SimpleNamespace(
        num_requests=requests, fail_ratio=fail_ratio, get_response_time_percentile=lambda q: p99 if q == 0.99 else 0
    )
    return cast(Any, SimpleNamespace(stats=SimpleNamespace(total=total)))


def test_judge_reads_the_run_totals() -> None:
    assert judge(environment(500, 120, 0.0), LIMITS)[0]
    assert not judge(environment(500, 1800, 0.0), LIMITS)[0]


def test_a_run_without_requests_is_a_breach() -> None:
    ok, reason = judge(environment(0, 0, 0.0), LIMITS)
    assert not ok and "no requests" in reason
