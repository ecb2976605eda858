"""Judge: a drill's measurement against its objectives — findings, checks, the verdict and the
notes, by the pure checker, plus what the Chaos Toolkit journal says about the experiment itself
(a steady state that did not hold, a failed way back)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from drills import checker, data_checks, relogin_check
from drills.measure import Measurement
from drills.model import Findings
from drills.report import Check, Objectives
from drills.scenarios import ScenarioSpec
from infra.topology import DrillSettings

Status = Literal["completed", "aborted", "interrupted", "failed"]
STATUSES: dict[str, Status] = {"completed": "completed", "aborted": "aborted", "interrupted": "interrupted"}


@dataclass(frozen=True)
class Judgement:
    findings: Findings
    checks: tuple[Check, ...]
    verdict: Literal["pass", "fail"]
    status: Status
    abort_reason: str | None
    notes: tuple[str, ...]


def judge(d: DrillSettings, spec: ScenarioSpec, objectives: Objectives, m: Measurement) -> Judgement:
    findings = checker.check(
        m.ops,
        m.samples,
        m.observed,
        m.timeline,
        k=d.consecutive_successes,
        freshness_s=d.ticket_freshness_s,
        affected_sites=spec.affected_sites,
        first_attempt_s=d.first_attempt_s,
        ticket_slo_s=objectives.ticket_slo_s,
    )
    data = data_checks.findings(spec.data_check, m.ops, m.observed)
    relogin = relogin_check.findings(m.relogin, m.timeline.fault_at)
    findings = findings.model_copy(update={"data": data, "relogin": relogin})
    checks = (
        checker.judge(findings, objectives)
        + data_checks.checks(data, spec.data_check, objectives)
        + relogin_check.check(relogin, objectives)
    )
    raw = m.journal.get("status", "failed") if steady_before(m.journal) else "failed"
    status: Status = STATUSES.get(raw, "failed")
    verdict = checker.verdict(checks)
    if status != "completed" or m.journal.get("deviated") or m.timeline.converged_at is None:
        verdict = "fail"  # the experiment, the steady state or the way back failed
    return Judgement(
        findings=findings,
        checks=checks,
        verdict=verdict,
        status=status,
        abort_reason=abort_reason(m.journal),
        notes=checker.notes(findings)
        + status_notes(m.journal)
        + ((f"The re-login surge broke: {m.relogin_error}",) if m.relogin_error else ()),
    )


def steady_before(journal: dict[str, Any]) -> bool:
    before = (journal.get("steady_states") or {}).get("before") or {}
    return bool(before.get("steady_state_met", True))


def abort_reason(journal: dict[str, Any]) -> str | None:
    if not steady_before(journal):
        probes = journal["steady_states"]["before"].get("probes", [])
        failed = ", ".join(p["activity"]["name"] for p in probes if not p.get("tolerance_met", True))
        return f"the steady state did not hold before the fault ({failed}); no fault was injected"
    if journal.get("status") == "completed":
        return None
    for activity in [*(journal.get("run") or []), *(journal.get("rollbacks") or [])]:
        if activity.get("status") == "failed" and activity.get("exception"):
            return "".join(activity["exception"][-1:]).strip()[:500]
    return f"experiment {journal.get('status')}"


def status_notes(journal: dict[str, Any]) -> tuple[str, ...]:
    notes = []
    if not steady_before(journal):
        notes.append("The steady state did not hold before the fault: nothing was injected and nothing was measured.")
    if journal.get("deviated"):
        notes.append("The steady state did not hold after the fault (Chaos Toolkit: deviated).")
    rollbacks = journal.get("rollbacks") or []
    if any(r.get("status") != "succeeded" for r in rollbacks):
        failed = ", ".join(r["activity"]["name"] for r in rollbacks if r.get("status") != "succeeded")
        notes.append(f"The way back failed ({failed}): the lab did not converge; see journal.json.")
    if journal.get("status") not in (None, "completed"):
        notes.append(f"The experiment did not complete (status {journal.get('status')}); rollbacks were played.")
    return tuple(notes)
