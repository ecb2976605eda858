"""The drill report, schema `ccdr.drill-report/1`. Pure data: no I/O.

A report is written once as canonical JSON (`canonical_json`), signed over exactly those bytes,
and never rewritten. A change that is not backwards compatible adds a `/2` schema; readers keep
accepting `/1`.
"""

from __future__ import annotations

import json
from typing import Any, Final, Literal

from pydantic import ConfigDict, Field

from drills.compare import Comparison
from drills.model import Findings, Frozen, Outcome, Timeline

SCHEMA: Final = "ccdr.drill-report/1"


class Scenario(Frozen):
    name: str  # e.g. site-loss-a
    title: str  # e.g. "Loss of site a (power cut)"
    fault: str  # what is done, in words
    affected_sites: tuple[str, ...] = ()  # sites whose singleton roles count as gone during the fault


class Objectives(Frozen):
    rpo_max_lost: int = 0  # acknowledged intakes allowed to be lost
    rto_s: dict[str, float] = Field(default_factory=dict)  # capability -> target seconds
    availability_min: float = 0.0  # share of canary intakes acknowledged within the deadline
    # The pipeline's SLO (tickets.slo_s / slo_share), judged outside the fault window: before the
    # fault and once the lab converged (during the fault, the ticket_creation RTO says how it went).
    ticket_slo_s: float | None = None
    ticket_slo_share: float = 0.99
    data_recovery_s: float | None = None  # data drills: a copy restored, the damage repaired, within this


class Check(Frozen):
    """One objective against what was achieved."""

    name: str  # e.g. "RPO", "RTO intake", "availability"
    target: str  # human-readable target, e.g. "<= 30 s"
    achieved: str  # human-readable, e.g. "8.4 s"
    passed: bool


class Roles(Frozen):
    """Who held what, as seen from outside."""

    patroni_primary: str | None = None
    patroni_sync_standby: str | None = None
    kafka_controller: str | None = None
    sla_clock_leader: str | None = None
    dispatcher_leader: str | None = None
    notifier_owner: str | None = None


class Environment(Frozen):
    ccdr_version: str
    commit: str | None = None
    host: str
    python: str
    components: dict[str, str] = Field(default_factory=dict)  # name -> version
    sites: dict[str, str] = Field(default_factory=dict)  # site -> role (data, witness) and address


class CanarySettings(Frozen):
    rate_per_s: float
    deadline_s: float
    attempt_timeout_s: float
    channel: str
    consecutive_successes: int  # K in the RTO definition


class Artifact(Frozen):
    """A file kept beside the report; its digest is signed with the report."""

    name: str  # file name in the report's directory
    sha256: str
    media_type: str


class LoadStats(Frozen):
    """Locust's totals when the drill ran under load."""

    users: int
    rate_per_s: float
    requests: int
    failures: int
    p50_ms: float | None = None
    p99_ms: float | None = None
    by_name: dict[str, dict[str, float]] = Field(default_factory=dict)


class Series(Frozen):
    """Compact series for the charts: offsets in seconds from `timeline.started`."""

    canary: tuple[tuple[float, float | None, Outcome], ...] = ()  # (invoked, latency_s, outcome)
    probes: dict[str, tuple[tuple[float, bool], ...]] = Field(default_factory=dict)  # capability -> (at, ok)


class SignOff(Frozen):
    operator: str
    reviewed_by: str | None = None
    approved_by: str | None = None


class DrillReport(Frozen):
    schema_: Literal["ccdr.drill-report/1"] = Field(default=SCHEMA, alias="schema")
    id: str
    scenario: Scenario
    trigger: Literal["manual", "scheduled", "ci", "benchmark"] = "manual"
    status: Literal["completed", "aborted", "interrupted", "failed"]  # the Chaos Toolkit run's status
    deviated: bool  # the steady state did not hold after the method
    abort_reason: str | None = None
    verdict: Literal["pass", "fail"]
    objectives: Objectives
    checks: tuple[Check, ...]
    findings: Findings
    notes: tuple[str, ...] = ()  # findings in words, for people
    timeline: Timeline
    roles_before: Roles
    roles_after: Roles
    environment: Environment
    canary: CanarySettings
    load: LoadStats | None = None
    series: Series
    artifacts: tuple[Artifact, ...] = ()
    sign_off: SignOff
    # how the headline figures moved since the previous run of the same scenario; None: the first
    comparison: Comparison | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def canonical_json(report: DrillReport) -> bytes:
    """The exact bytes that are signed: sorted keys, no insignificant whitespace, UTF-8."""
    data: dict[str, Any] = report.model_dump(mode="json", by_alias=True)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def parse_report(raw: bytes) -> DrillReport:
    return DrillReport.model_validate_json(raw)
