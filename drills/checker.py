"""From a drill's history and what was read afterwards to findings, checks and a verdict.

Pure: no I/O, no clock reads. The same inputs always give the same findings, so a report can be
re-derived from its artifacts. Times are POSIX seconds from the drill runner's clock.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from itertools import pairwise
from typing import Literal

from drills.model import (
    Availability,
    CanaryOp,
    Findings,
    Latency,
    Observed,
    Outcome,
    Rpo,
    Rto,
    Sample,
    TicketSlo,
    Timeline,
)
from drills.report import Check, Objectives

INTAKE = "intake"
TICKET_CREATION = "ticket_creation"
SLA_CLOCK = "sla_clock"

_LABELS = {
    INTAKE: "Intake",
    TICKET_CREATION: "Ticket creation",
    SLA_CLOCK: "SLA-clock leadership",
    "agent_login": "Agent login",
    "db_primary": "Database primary",
}


# -- RPO -------------------------------------------------------------------------------------


def rpo(ops: Sequence[CanaryOp], observed: Observed, *, keep: int = 20) -> Rpo:
    """Loss, duplication and unknown outcomes of the canary intakes, judged against the tickets found.

    Lost: acknowledged (OK) but no ticket. Duplicate: more than one ticket for one key (any outcome).
    Unknown: the client could not tell; present if a ticket exists. A FAIL with a ticket is not loss.
    """
    ordered = sorted(ops, key=lambda op: op.seq)
    acknowledged = [op for op in ordered if op.outcome is Outcome.OK]
    lost = [op for op in acknowledged if not observed.tickets.get(op.key)]
    lost_acks = [op.acked for op in lost if op.acked is not None]
    duplicates = [op for op in ordered if len(observed.tickets.get(op.key, ())) > 1]
    unknown = [op for op in ordered if op.outcome is Outcome.UNKNOWN]
    present = sum(1 for op in unknown if observed.tickets.get(op.key))
    return Rpo(
        acknowledged=len(acknowledged),
        lost=len(lost),
        lost_keys=tuple(op.key for op in lost[:keep]),
        lost_span_s=max(lost_acks) - min(lost_acks) if len(lost_acks) >= 2 else 0.0,
        lost_not_in_kafka=sum(1 for op in lost if op.key not in observed.in_kafka),
        duplicates=len(duplicates),
        duplicate_keys=tuple(op.key for op in duplicates[:keep]),
        unknown=len(unknown),
        unknown_present=present,
        unknown_absent=len(unknown) - present,
    )


# -- RTO -------------------------------------------------------------------------------------


def _window_end(timeline: Timeline) -> float:
    return timeline.restore_at if timeline.restore_at is not None else timeline.ended


def _in_window(at: float, timeline: Timeline) -> bool:
    return timeline.fault_at <= at < _window_end(timeline)


def rto(samples: Sequence[Sample], timeline: Timeline, *, capability: str, k: int) -> Rto:
    """Recovery time of one capability from its samples (those of other capabilities are ignored).

    Samples are ordered by `at` (ties keep their input order). The fault window is
    [fault_at, restore_at), or [fault_at, ended) when the restore never ran. The capability is
    disrupted if a sample failed in the window; if not, it recovered at fault_at (0 s).
    Otherwise it recovered at the first sample of the first run of `k` consecutive successes
    after the last failure in the window; the run may extend past the window, and a failure after
    the window breaks a run (the search goes on). seconds = recovered_at - fault_at; None when no
    such run exists. `failures` counts failed samples in the window, `samples` every sample at or
    after fault_at.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    mine = sorted((s for s in samples if s.capability == capability), key=lambda s: s.at)
    end = _window_end(timeline)
    in_window = [i for i, s in enumerate(mine) if _in_window(s.at, timeline) and not s.ok]
    counted = sum(1 for s in mine if s.at >= timeline.fault_at)
    if not in_window:
        return Rto(
            capability=capability,
            disrupted=False,
            seconds=0.0,
            recovered_at=timeline.fault_at,
            failures=0,
            samples=counted,
            recovered_during_fault=True,
        )
    recovered_at: float | None = None
    run_start: float | None = None
    run = 0
    for s in mine[in_window[-1] + 1 :]:
        if not s.ok:
            run, run_start = 0, None
            continue
        if run == 0:
            run_start = s.at
        run += 1
        if run >= k:
            recovered_at = run_start
            break
    return Rto(
        capability=capability,
        disrupted=True,
        seconds=None if recovered_at is None else recovered_at - timeline.fault_at,
        recovered_at=recovered_at,
        failures=len(in_window),
        samples=counted,
        recovered_during_fault=recovered_at is not None and recovered_at < end,
    )


def _affected(op: CanaryOp, timeline: Timeline) -> bool:
    """The op's first attempt overlapped the fault window (sent before it closed, done after it opened)."""
    first = op.attempts[0] if op.attempts else None
    return first is not None and first.sent < _window_end(timeline) and first.done >= timeline.fault_at


def intake_full_recovery(ops: Sequence[CanaryOp], timeline: Timeline, *, first_attempt_s: float) -> tuple[float, int]:
    """(seconds, count): from the fault to the end of the last affected intake whose first attempt
    was not acknowledged within `first_attempt_s` (it was retried, or was slow, or never got in),
    and how many such intakes there were. 0 s when none: the client saw nothing."""
    ends = []
    for op in ops:
        if not _affected(op, timeline):
            continue
        first = op.attempts[0]
        if first.ok and first.done - first.sent <= first_attempt_s:
            continue
        ends.append(op.acked if op.acked is not None else max(a.done for a in op.attempts))
    return (max(ends) - timeline.fault_at if ends else 0.0), len(ends)


def ticket_full_recovery(
    ops: Sequence[CanaryOp], observed: Observed, timeline: Timeline, *, freshness_s: float
) -> tuple[float | None, int]:
    """(seconds, count): from the fault to the creation of the last late ticket of an intake
    acknowledged from the fault on (late: more than `freshness_s` after its acknowledgement);
    None when one of them has no ticket at all (not recovered)."""
    lates: list[float] = []
    missing = 0
    for op in ops:
        if op.outcome is not Outcome.OK or op.acked is None or op.acked < timeline.fault_at:
            continue
        tickets = observed.tickets.get(op.key, ())
        if not tickets:
            missing += 1
            continue
        created = min(t.created for t in tickets)
        if created - op.acked > freshness_s:
            lates.append(created)
    count = len(lates) + missing
    if missing:
        return None, count
    return (max(lates) - timeline.fault_at if lates else 0.0), count


def canary_samples(ops: Sequence[CanaryOp]) -> list[Sample]:
    """One `intake` sample per canary attempt (at = sent, latency = done - sent, detail = error)."""
    return [
        Sample(capability=INTAKE, at=a.sent, ok=a.ok, latency_s=a.done - a.sent, detail=a.error)
        for op in sorted(ops, key=lambda op: op.seq)
        for a in op.attempts
    ]


def ticket_samples(ops: Sequence[CanaryOp], observed: Observed, *, freshness_s: float) -> list[Sample]:
    """One `ticket_creation` sample per acknowledged intake, at its acknowledgement.

    ok: its earliest ticket was created at most `freshness_s` after the acknowledgement (a ticket
    created before it counts as ok); latency = created - acked, None when there is no ticket.
    """
    out: list[Sample] = []
    for op in sorted(ops, key=lambda op: op.seq):
        if op.outcome is not Outcome.OK or op.acked is None:
            continue
        tickets = observed.tickets.get(op.key, ())
        if not tickets:
            out.append(Sample(capability=TICKET_CREATION, at=op.acked, ok=False, detail="no ticket"))
            continue
        delay = min(t.created for t in tickets) - op.acked
        out.append(
            Sample(
                capability=TICKET_CREATION,
                at=op.acked,
                ok=delay <= freshness_s,
                latency_s=delay,
                detail=None if delay <= freshness_s else "late",
            )
        )
    return out


def leader_samples(samples: Sequence[Sample], timeline: Timeline, affected_sites: Collection[str]) -> list[Sample]:
    """Leadership samples re-judged: `detail` is the leader's site (None or empty: no leader).

    ok only if the probe succeeded, names a leader, and, within the fault window, that leader is not
    on an affected site: a leader on a dead or isolated site is not leading.
    """
    return [
        s.model_copy(
            update={"ok": s.ok and bool(s.detail) and not (_in_window(s.at, timeline) and s.detail in affected_sites)}
        )
        for s in samples
    ]


# -- availability and latency ----------------------------------------------------------------


def judged_samples(samples: Sequence[Sample], timeline: Timeline, affected_sites: Collection[str]) -> list[Sample]:
    """The probe samples as the checker judges them (`sla_clock` through `leader_samples`), for charts."""
    leader = leader_samples([s for s in samples if s.capability == SLA_CLOCK], timeline, affected_sites)
    return [*(s for s in samples if s.capability != SLA_CLOCK), *leader]


def availability(ops: Sequence[CanaryOp], timeline: Timeline) -> Availability:
    """Share of intakes acknowledged, and the longest time without a successful attempt.

    The gap is measured between consecutive completions (`done`) of successful attempts, and
    from `started` to the first and from the last to `ended`; completions are clamped to
    [started, ended]. The earliest of equally long gaps is reported.
    """
    acknowledged = sum(1 for op in ops if op.outcome is Outcome.OK)
    dones = sorted(min(max(a.done, timeline.started), timeline.ended) for op in ops for a in op.attempts if a.ok)
    marks = [timeline.started, *dones, timeline.ended]
    gap, gap_from, gap_to = 0.0, timeline.started, timeline.started
    for a, b in pairwise(marks):
        if b - a > gap:
            gap, gap_from, gap_to = b - a, a, b
    return Availability(
        invoked=len(ops),
        acknowledged=acknowledged,
        ratio=acknowledged / len(ops) if ops else 1.0,
        longest_gap_s=gap,
        longest_gap_from=gap_from,
        longest_gap_to=gap_to,
    )


def nearest_rank(values: Sequence[float], percentile: int) -> float:
    """The nearest-rank percentile: the smallest value with at least `percentile` % of values at or below it.

    That is sorted(values)[ceil(percentile / 100 * n) - 1], computed in integers; n must be > 0.
    """
    if not values:
        raise ValueError("no values")
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], not {percentile}")
    ordered = sorted(values)
    rank = -(-percentile * len(ordered) // 100)  # ceil without floats
    return ordered[rank - 1]


def _phase(name: str, values: list[float]) -> Latency:
    if not values:
        return Latency(phase=name, count=0)
    return Latency(
        phase=name,
        count=len(values),
        p50_s=nearest_rank(values, 50),
        p99_s=nearest_rank(values, 99),
        max_s=max(values),
    )


def _phase_of(op: CanaryOp, timeline: Timeline) -> str:
    """before: invoked < fault_at; during: fault_at <= invoked < converged_at (else restore_at,
    else ended); after: the rest."""
    if timeline.converged_at is not None:
        end = timeline.converged_at
    elif timeline.restore_at is not None:
        end = timeline.restore_at
    else:
        end = timeline.ended
    if op.invoked < timeline.fault_at:
        return "before"
    return "during" if op.invoked < end else "after"


def _pipeline_phase(op: CanaryOp, delay: float | None, timeline: Timeline, slo_s: float) -> str:
    """The phase whose pipeline an acknowledged intake met. One acknowledged before the fault whose
    ticket was still in flight when it struck, with its objective not yet run out, met the fault
    (its ticket waits for the new primary): it is judged with the fault, not before it. One whose
    objective had already run out before the fault stays `before`, a miss of its own."""
    phase = _phase_of(op, timeline)
    if phase != "before" or op.acked is None:
        return phase
    committed_before_fault = delay is not None and op.acked + delay < timeline.fault_at
    if not committed_before_fault and op.acked + slo_s > timeline.fault_at:
        return "during"
    return phase


def _by_phase(
    values: Sequence[tuple[CanaryOp, float]],
    timeline: Timeline,
    phase_of: Callable[[CanaryOp, float], str] | None = None,
) -> tuple[Latency, Latency, Latency]:
    phases: dict[str, list[float]] = {"before": [], "during": [], "after": []}
    for op, value in values:
        phases[phase_of(op, value) if phase_of else _phase_of(op, timeline)].append(value)
    return _phase("before", phases["before"]), _phase("during", phases["during"]), _phase("after", phases["after"])


def latency(ops: Sequence[CanaryOp], timeline: Timeline) -> tuple[Latency, Latency, Latency]:
    """Latency (invoked -> acked) of acknowledged intakes, by the phase they were invoked in
    (`_phase_of`). p50 and p99 by the nearest-rank method (see `nearest_rank`)."""
    acked = [(op, op.latency_s) for op in ops if op.outcome is Outcome.OK and op.latency_s is not None]
    return _by_phase(acked, timeline)


def _ticket_delays(ops: Sequence[CanaryOp], observed: Observed) -> list[tuple[CanaryOp, float]]:
    """Acknowledgement -> earliest ticket committed, of acknowledged intakes that have a ticket
    (one created before the acknowledgement counts as 0)."""
    out = []
    for op in ops:
        tickets = observed.tickets.get(op.key, ())
        if op.outcome is Outcome.OK and op.acked is not None and tickets:
            out.append((op, max(0.0, min(t.created for t in tickets) - op.acked)))
    return out


def ticket_delay(
    ops: Sequence[CanaryOp], observed: Observed, timeline: Timeline, *, slo_s: float
) -> tuple[Latency, Latency, Latency]:
    """The pipeline's delay (202 -> ticket committed) by the phase its pipeline met (`_pipeline_phase`)."""
    return _by_phase(
        _ticket_delays(ops, observed), timeline, lambda op, delay: _pipeline_phase(op, delay, timeline, slo_s)
    )


def ticket_slo(ops: Sequence[CanaryOp], observed: Observed, timeline: Timeline, *, slo_s: float) -> TicketSlo:
    """The pipeline's SLO outside the fault window. An acknowledged intake without a ticket is
    judged too, as not within (the RPO check says whether it was lost)."""
    delays = dict((op.seq, d) for op, d in _ticket_delays(ops, observed))
    phased = [
        (op.acked, delays.get(op.seq), _pipeline_phase(op, delays.get(op.seq), timeline, slo_s))
        for op in ops
        if op.outcome is Outcome.OK and op.acked is not None
    ]
    judged = [delay for _, delay, phase in phased if phase != "during"]
    # Acknowledged before the fault, their ticket held up by it.
    in_flight = sum(
        1 for acked, _, phase in phased if phase == "during" and acked is not None and acked < timeline.fault_at
    )
    known = [d for d in judged if d is not None]
    return TicketSlo(
        slo_s=slo_s,
        judged=len(judged),
        within=sum(1 for d in known if d <= slo_s),
        p99_s=nearest_rank(known, 99) if known else None,
        in_flight_at_fault=in_flight,
    )


# -- all together ----------------------------------------------------------------------------


def check(
    ops: Sequence[CanaryOp],
    samples: Sequence[Sample],
    observed: Observed,
    timeline: Timeline,
    *,
    k: int,
    freshness_s: float,
    affected_sites: Collection[str],
    first_attempt_s: float = 1.0,
    ticket_slo_s: float | None = None,
) -> Findings:
    """All findings of a drill. RTOs: intake (per attempt), ticket_creation, then each probed capability
    in sorted order (`sla_clock` re-judged by `leader_samples`). Intake and ticket creation also carry
    their full recovery (what a client lived through), which the objectives are judged on."""
    probed = sorted({s.capability for s in samples})
    reserved = {INTAKE, TICKET_CREATION} & set(probed)
    if reserved:
        raise ValueError(f"probe samples may not use the derived capabilities {sorted(reserved)}")
    intake_full, intake_slow = intake_full_recovery(ops, timeline, first_attempt_s=first_attempt_s)
    ticket_full, ticket_late = ticket_full_recovery(ops, observed, timeline, freshness_s=freshness_s)
    rtos = [
        rto(canary_samples(ops), timeline, capability=INTAKE, k=k).model_copy(
            update={"full_recovery_s": intake_full, "slow_or_retried": intake_slow}
        ),
        rto(
            ticket_samples(ops, observed, freshness_s=freshness_s), timeline, capability=TICKET_CREATION, k=k
        ).model_copy(update={"full_recovery_s": ticket_full, "slow_or_retried": ticket_late}),
    ]
    for capability in probed:
        mine = [s for s in samples if s.capability == capability]
        if capability == SLA_CLOCK:
            mine = leader_samples(mine, timeline, affected_sites)
        rtos.append(rto(mine, timeline, capability=capability, k=k))
    return Findings(
        rpo=rpo(ops, observed),
        rto=tuple(rtos),
        availability=availability(ops, timeline),
        latency=latency(ops, timeline),
        ticket_delay=ticket_delay(ops, observed, timeline, slo_s=freshness_s if ticket_slo_s is None else ticket_slo_s),
        ticket_slo=None if ticket_slo_s is None else ticket_slo(ops, observed, timeline, slo_s=ticket_slo_s),
    )


def _num(value: float) -> str:
    return f"{value:g}"


def judge(findings: Findings, objectives: Objectives) -> tuple[Check, ...]:
    """The objectives against the findings: RPO, one RTO check per targeted capability, availability.

    An RTO fails when its capability was not measured (absent, or no sample after the fault) or
    did not recover; otherwise it passes when its full recovery (where measured: intake, ticket
    creation), or else its first sustained success, is within the target.
    """
    r = findings.rpo
    checks = [
        Check(
            name="RPO",
            target=f"≤ {objectives.rpo_max_lost} lost, 0 duplicates",
            achieved=f"{r.lost} lost, {r.duplicates} duplicates",
            passed=r.lost <= objectives.rpo_max_lost and r.duplicates == 0,
        )
    ]
    by_capability = {x.capability: x for x in reversed(findings.rto)}  # the first one wins
    for capability, target in objectives.rto_s.items():
        found = by_capability.get(capability)
        if found is None or found.samples == 0:
            achieved, passed = "not measured", False
        elif found.seconds is None:
            achieved, passed = "not recovered", False
        elif found.full_recovery_s is not None:
            achieved = f"{found.full_recovery_s:.1f} s full (first success {found.seconds:.1f} s)"
            passed = found.full_recovery_s <= target
        else:
            achieved, passed = f"{found.seconds:.1f} s", found.seconds <= target
        checks.append(Check(name=f"RTO {capability}", target=f"≤ {_num(target)} s", achieved=achieved, passed=passed))
    slo = findings.ticket_slo
    if objectives.ticket_slo_s is not None:
        share = f"{objectives.ticket_slo_share * 100:g} %"
        slo_target = f"≥ {share} within {_num(objectives.ticket_slo_s)} s, outside the fault"
        if slo is None or slo.judged == 0:
            achieved, passed = "not measured", False
        else:
            p99 = f", p99 {slo.p99_s:.2f} s" if slo.p99_s is not None else ""
            achieved = f"{slo.share * 100:.1f} % of {slo.judged}{p99}"
            passed = slo.slo_s <= objectives.ticket_slo_s and slo.share >= objectives.ticket_slo_share
        checks.append(Check(name="SLO 202 → ticket", target=slo_target, achieved=achieved, passed=passed))
    a = findings.availability
    checks.append(
        Check(
            name="availability",
            target=f"≥ {objectives.availability_min * 100:.1f} %",
            achieved=f"{a.ratio * 100:.1f} %",
            passed=a.ratio >= objectives.availability_min,
        )
    )
    return tuple(checks)


def verdict(checks: Sequence[Check]) -> Literal["pass", "fail"]:
    """pass when every check passed; fail otherwise, and when there is nothing to check."""
    return "pass" if checks and all(c.passed for c in checks) else "fail"


# -- in words --------------------------------------------------------------------------------


def _label(capability: str) -> str:
    return _LABELS.get(capability) or capability.replace("_", " ").capitalize()


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def notes(findings: Findings) -> tuple[str, ...]:
    """The findings as short factual sentences for people."""
    out: list[str] = []
    r = findings.rpo
    if r.lost == 0:
        out.append(f"No acknowledged intake was lost ({r.acknowledged} acknowledged).")
    else:
        verb = "has" if r.lost == 1 else "have"
        out.append(
            f"{_plural(r.lost, 'acknowledged intake', 'acknowledged intakes')} {verb} no ticket "
            f"(span {r.lost_span_s:.1f} s)."
        )
        out.append(f"Of these, {r.lost - r.lost_not_in_kafka} reached Kafka and {r.lost_not_in_kafka} did not.")
    if r.duplicates:
        verb = "has" if r.duplicates == 1 else "have"
        out.append(f"{_plural(r.duplicates, 'intake', 'intakes')} {verb} more than one ticket.")
    if r.unknown:
        out.append(
            f"{_plural(r.unknown, 'unknown outcome', 'unknown outcomes')}: "
            f"{r.unknown_present} recorded, {r.unknown_absent} not."
        )
    for x in findings.rto:
        label = _label(x.capability)
        if x.samples == 0:
            out.append(f"{label} was not measured after the fault.")
        elif not x.disrupted:
            out.append(f"{label} was not disrupted.")
        elif x.seconds is None:
            out.append(f"{label} did not recover before the drill ended.")
        elif x.recovered_during_fault:
            out.append(
                f"{label} recovered {x.seconds:.1f} s after the fault "
                f"({_plural(x.failures, 'failed sample', 'failed samples')})."
            )
        else:
            out.append(f"{label} came back only after the fault was undone ({x.seconds:.1f} s after the fault).")
    a = findings.availability
    out.append(
        f"{a.ratio * 100:.1f} % of intakes acknowledged ({a.acknowledged} of {a.invoked}); "
        f"longest time without a successful intake {a.longest_gap_s:.1f} s."
    )
    during = next((x for x in findings.latency if x.phase == "during"), None)
    if during is not None and during.count and during.p99_s is not None:
        out.append(f"During the fault, p99 intake latency was {during.p99_s:.2f} s ({during.count} acknowledged).")
    words = {"before": "before the fault", "during": "during it", "after": "once converged"}
    delays = [f"{words[x.phase]} {x.p99_s:.2f} s" for x in findings.ticket_delay if x.count and x.p99_s is not None]
    if delays:
        out.append(f"p99 from acknowledgement to ticket committed: {', '.join(delays)}.")
    slo = findings.ticket_slo
    if slo is not None and slo.judged:
        in_flight = (
            f"; {_plural(slo.in_flight_at_fault, 'intake', 'intakes')} acknowledged just before the fault, "
            f"whose ticket it held up, {'is' if slo.in_flight_at_fault == 1 else 'are'} judged with it"
            if slo.in_flight_at_fault
            else ""
        )
        out.append(
            f"Outside the fault, {slo.within} of {slo.judged} acknowledged intakes had their ticket within "
            f"{_num(slo.slo_s)} s ({slo.share * 100:.1f} %){in_flight}."
        )
    return tuple(out)
