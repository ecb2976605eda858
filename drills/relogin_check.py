"""The re-login surge's findings and check (pure): what the agents of a lost site lived through
when they all signed in again at the other site within seconds."""

from __future__ import annotations

from collections.abc import Sequence

from drills.checker import nearest_rank
from drills.model import Relogin, SignInRecord
from drills.report import Check, Objectives

OK = 200


def findings(records: Sequence[SignInRecord], fault_at: float) -> Relogin | None:
    if not records:
        return None
    ok = [r for r in records if r.status == OK and r.latency_s is not None]
    latencies = sorted(r.latency_s for r in ok if r.latency_s is not None)
    everyone = None
    if len(ok) == len(records):
        everyone = max(r.sent + (r.latency_s or 0.0) for r in ok) - fault_at
    return Relogin(
        sent=len(records),
        signed_in=len(ok),
        refused=sum(1 for r in records if r.status is not None and r.status != OK),
        no_answer=sum(1 for r in records if r.status is None),
        fired_after_s=min(r.sent for r in records) - fault_at,
        p50_s=nearest_rank(latencies, 50) if latencies else None,
        p99_s=nearest_rank(latencies, 99) if latencies else None,
        max_s=latencies[-1] if latencies else None,
        everyone_in_s=everyone,
        sites=tuple(sorted({r.site or "?" for r in ok})),
        pressed_again=sum(1 for r in records if r.attempts > 1),
    )


def check(relogin: Relogin | None, objectives: Objectives) -> tuple[Check, ...]:
    """Every agent of the lost site got in, the last one within the agent-login RTO target of the fault."""
    if relogin is None:
        return ()
    target = objectives.rto_s.get("agent_login")
    everyone = relogin.everyone_in_s
    achieved = f"{relogin.signed_in} of {relogin.sent} in"
    if everyone is not None:
        achieved += f", the last {everyone:.1f} s after the fault (p99 {relogin.p99_s or 0:.2f} s)"
    within = everyone is not None and (target is None or everyone <= target)
    return (
        Check(
            name="re-login surge",
            target=f"all in, the last ≤ {target:g} s after the fault" if target is not None else "all in",
            achieved=achieved,
            passed=within,
        ),
    )
