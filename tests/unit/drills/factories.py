"""Builders of valid drill data for tests."""

from __future__ import annotations

from typing import Any

from drills.model import Availability, Findings, Latency, Rpo, Rto, Timeline
from drills.report import (
    CanarySettings,
    Check,
    DrillReport,
    Environment,
    Objectives,
    Roles,
    Scenario,
    Series,
    SignOff,
)

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def make_findings(**overrides: Any) -> Findings:
    """Findings of a clean drill: nothing lost, intake recovered in 8.4 s."""
    fields: dict[str, Any] = {
        "rpo": Rpo(acknowledged=100, lost=0),
        "rto": (Rto(capability="intake", disrupted=True, seconds=8.4, recovered_at=T0 + 68.4, failures=3, samples=60),),
        "availability": Availability(invoked=100, acknowledged=97, ratio=0.97, longest_gap_s=6.0),
        "latency": (Latency(phase="before", count=30, p50_s=0.02, p99_s=0.05, max_s=0.06),),
    }
    fields.update(overrides)
    return Findings(**fields)


def make_report(**overrides: Any) -> DrillReport:
    """A minimal valid passing report for scenario site-loss-a; keyword arguments replace top-level fields."""
    fields: dict[str, Any] = {
        "id": "20231114T221320Z-site-loss-a",
        "scenario": Scenario(
            name="site-loss-a", title="Loss of site a (power cut)", fault="stop every process of site a"
        ),
        "status": "completed",
        "deviated": False,
        "verdict": "pass",
        "objectives": Objectives(rpo_max_lost=0, rto_s={"intake": 30.0}, availability_min=0.9),
        "checks": (
            Check(name="RPO", target="0 lost", achieved="0 lost", passed=True),
            Check(name="RTO intake", target="<= 30 s", achieved="8.4 s", passed=True),
        ),
        "findings": make_findings(),
        "timeline": Timeline(started=T0, fault_at=T0 + 60, restore_at=T0 + 120, converged_at=T0 + 150, ended=T0 + 180),
        "roles_before": Roles(patroni_primary="a1", sla_clock_leader="a"),
        "roles_after": Roles(patroni_primary="b1", sla_clock_leader="b"),
        "environment": Environment(ccdr_version="0.1.0", host="lab", python="3.11.9"),
        "canary": CanarySettings(
            rate_per_s=2.0, deadline_s=10.0, attempt_timeout_s=2.0, channel="web", consecutive_successes=3
        ),
        "series": Series(),
        "sign_off": SignOff(operator="tester"),
    }
    fields.update(overrides)
    return DrillReport(**fields)
