"""The drill checker on synthetic histories: RPO, RTO, availability, latency, checks and notes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drills.checker import (
    availability,
    canary_samples,
    check,
    intake_full_recovery,
    judge,
    judged_samples,
    latency,
    leader_samples,
    nearest_rank,
    notes,
    rpo,
    rto,
    ticket_delay,
    ticket_full_recovery,
    ticket_samples,
    ticket_slo,
    verdict,
)
from drills.model import (
    Attempt,
    Availability,
    CanaryOp,
    Findings,
    Latency,
    Observed,
    Outcome,
    Rpo,
    Rto,
    Sample,
    TicketSeen,
    TicketSlo,
    Timeline,
)
from drills.report import Check, Objectives

# fault at 10 s, restore at 40 s, whole again at 50 s, stopped at 60 s
TL = Timeline(started=0.0, fault_at=10.0, restore_at=40.0, converged_at=50.0, ended=60.0)


def op(
    seq: int,
    outcome: Outcome = Outcome.OK,
    *,
    invoked: float | None = None,
    latency_s: float = 0.1,
    attempts: tuple[Attempt, ...] | None = None,
) -> CanaryOp:
    """A canary intake keyed k<seq>, invoked at <seq> s unless told; OK ones acked `latency_s` later."""
    at = float(seq) if invoked is None else invoked
    acked = at + latency_s if outcome is Outcome.OK else None
    if attempts is None:
        if outcome is Outcome.OK:
            attempts = (Attempt(sent=at, done=at + latency_s, ok=True, status=202),)
        elif outcome is Outcome.FAIL:
            attempts = (Attempt(sent=at, done=at + 0.01, ok=False, error="connection refused"),)
        else:
            attempts = (Attempt(sent=at, done=at + 2.0, ok=False, error="timeout"),)
    return CanaryOp(
        seq=seq,
        key=f"k{seq}",
        invoked=at,
        outcome=outcome,
        ticket_code=f"T{seq}" if acked is not None else None,
        acked=acked,
        attempts=attempts,
    )


def tickets(*keys: str, created: float = 0.0, copies: int = 1) -> dict[str, tuple[TicketSeen, ...]]:
    return {key: tuple(TicketSeen(code=f"{key}-{i}", created=created) for i in range(copies)) for key in keys}


def recorded(ops: list[CanaryOp], *, except_: tuple[str, ...] = ()) -> dict[str, tuple[TicketSeen, ...]]:
    """One ticket, created at the acknowledgement (or invocation), for every op but `except_`."""
    return {
        o.key: (TicketSeen(code=f"T{o.seq}", created=o.acked if o.acked is not None else o.invoked),)
        for o in ops
        if o.key not in except_
    }


def series(pattern: str, *, capability: str = "agent_login", start: float = 0.0, step: float = 1.0) -> list[Sample]:
    """Samples from a pattern: '+' ok, '-' failed, '.' no sample; the i-th at start + i * step."""
    return [Sample(capability=capability, at=start + i * step, ok=c == "+") for i, c in enumerate(pattern) if c in "+-"]


# -- RPO -------------------------------------------------------------------------------------


def test_a_known_loss_is_found_with_its_keys_span_and_kafka() -> None:
    ops = [op(i) for i in range(10)]
    observed = Observed(tickets=recorded(ops, except_=("k3", "k5", "k7")), in_kafka=frozenset({"k3"}))
    r = rpo(ops, observed)
    assert r.acknowledged == 10
    assert r.lost == 3
    assert r.lost_keys == ("k3", "k5", "k7")
    assert r.lost_span_s == pytest.approx(4.0)  # acked 3.1 -> 7.1
    assert r.lost_not_in_kafka == 2
    assert (r.duplicates, r.unknown) == (0, 0)


def test_lost_keys_are_in_seq_order_and_capped() -> None:
    ops = [op(i) for i in range(10)]
    observed = Observed(tickets=recorded(ops, except_=("k2", "k4", "k8")))
    r = rpo(list(reversed(ops)), observed, keep=2)
    assert r.lost == 3
    assert r.lost_keys == ("k2", "k4")
    assert r.lost_span_s == pytest.approx(6.0)


def test_an_empty_ticket_tuple_is_a_loss_and_one_loss_has_no_span() -> None:
    ops = [op(0), op(1)]
    observed = Observed(tickets={**recorded(ops), "k1": ()}, in_kafka=frozenset({"k1"}))
    r = rpo(ops, observed)
    assert (r.lost, r.lost_keys, r.lost_span_s, r.lost_not_in_kafka) == (1, ("k1",), 0.0, 0)


def test_a_duplicate_is_found_whatever_the_outcome() -> None:
    ops = [op(0), op(1), op(2, Outcome.UNKNOWN), op(3)]
    observed = Observed(tickets={**recorded(ops), **tickets("k1", copies=2), **tickets("k2", copies=3)})
    r = rpo(ops, observed)
    assert r.duplicates == 2
    assert r.duplicate_keys == ("k1", "k2")
    assert r.lost == 0


def test_a_clean_history_has_no_loss_no_duplicate_and_full_availability() -> None:
    ops = [op(i, invoked=i * 0.5) for i in range(120)]
    observed = Observed(tickets=recorded(ops), in_kafka=frozenset(o.key for o in ops))
    r = rpo(ops, observed)
    assert r == Rpo(acknowledged=120, lost=0)
    a = availability(ops, TL)
    assert (a.invoked, a.acknowledged, a.ratio) == (120, 120, 1.0)


def test_unknowns_are_resolved_present_or_absent_and_a_recorded_failure_is_not_loss() -> None:
    ops = [op(0), op(1, Outcome.UNKNOWN), op(2, Outcome.UNKNOWN), op(3, Outcome.UNKNOWN), op(4, Outcome.FAIL)]
    observed = Observed(tickets=recorded(ops, except_=("k2",)))  # k4 refused but recorded anyway
    r = rpo(ops, observed)
    assert (r.unknown, r.unknown_present, r.unknown_absent) == (3, 2, 1)
    assert (r.acknowledged, r.lost, r.duplicates) == (1, 0, 0)


# -- RTO -------------------------------------------------------------------------------------


def test_an_undisrupted_capability_recovers_in_zero_seconds() -> None:
    # failures before the fault and after the window do not count
    samples = series("--" + "+" * 38 + "-" + "+" * 19)
    r = rto(samples, TL, capability="agent_login", k=3)
    assert r == Rto(
        capability="agent_login",
        disrupted=False,
        seconds=0.0,
        recovered_at=10.0,
        failures=0,
        samples=50,
        recovered_during_fault=True,
    )


def test_an_outage_then_recovery_gives_the_exact_seconds() -> None:
    # ok until 10, failing 10..14, ok from 15
    samples = series("+" * 10 + "-----" + "+" * 45)
    r = rto(samples, TL, capability="agent_login", k=3)
    assert r.disrupted
    assert r.recovered_at == 15.0
    assert r.seconds == pytest.approx(5.0)
    assert (r.failures, r.samples, r.recovered_during_fault) == (5, 50, True)


def test_the_recovery_is_at_the_first_sample_of_the_run_with_uneven_spacing() -> None:
    samples = [
        Sample(capability="c", at=9.0, ok=True),
        Sample(capability="c", at=10.5, ok=False),
        Sample(capability="c", at=12.25, ok=True),
        Sample(capability="c", at=12.5, ok=True),
    ]
    r = rto(samples, TL, capability="c", k=2)
    assert (r.recovered_at, r.seconds) == (12.25, pytest.approx(2.25))


def test_a_blip_of_fewer_than_k_successes_is_not_recovery() -> None:
    #                   10   15   20
    samples = series("+" * 10 + "---++--+++" + "+" * 40)
    r = rto(samples, TL, capability="agent_login", k=3)
    assert r.recovered_at == 17.0
    assert r.seconds == pytest.approx(7.0)
    assert r.failures == 5
    # recovery is looked for only after the last failure in the window, whatever k
    assert rto(samples, TL, capability="agent_login", k=2).recovered_at == 17.0


def test_never_recovered_is_none() -> None:
    samples = series("+" * 10 + "-" * 48 + "++")  # two successes at the end, k=3
    r = rto(samples, TL, capability="agent_login", k=3)
    assert r.disrupted
    assert (r.seconds, r.recovered_at, r.recovered_during_fault) == (None, None, False)
    assert r.failures == 30  # 10..39; the rest is after the window


def test_recovered_only_after_the_restore() -> None:
    samples = series("+" * 10 + "-" * 30 + "+" * 20)  # failing until the restore at 40
    r = rto(samples, TL, capability="agent_login", k=3)
    assert (r.recovered_at, r.seconds, r.recovered_during_fault) == (40.0, pytest.approx(30.0), False)


def test_a_run_may_cross_the_window_end_and_a_later_failure_breaks_a_run() -> None:
    crossing = series("+" * 10 + "-" * 28 + "+++" + "+" * 19)  # ok from 38
    r = rto(crossing, TL, capability="agent_login", k=3)
    assert (r.recovered_at, r.recovered_during_fault) == (38.0, True)
    broken = series("+" * 10 + "-" * 29 + "++-+" + "+++" + "-" * 14)  # 39, 40 ok, 41 failed, 42.. ok
    r = rto(broken, TL, capability="agent_login", k=3)
    assert (r.recovered_at, r.recovered_during_fault, r.failures) == (42.0, False, 29)


def test_without_a_restore_the_window_lasts_until_the_end() -> None:
    timeline = Timeline(started=0.0, fault_at=10.0, ended=60.0)
    samples = series("+" * 10 + "-" * 45 + "+" * 5)
    r = rto(samples, timeline, capability="agent_login", k=3)
    assert (r.failures, r.recovered_at, r.recovered_during_fault) == (45, 55.0, True)


def test_rto_ignores_other_capabilities_and_input_order() -> None:
    samples = series("+" * 10 + "-----" + "+" * 45)
    noise = series("-" * 60, capability="db_primary")
    r = rto(list(reversed(samples)) + noise, TL, capability="agent_login", k=3)
    assert r == rto(samples, TL, capability="agent_login", k=3)


def test_rto_needs_k_of_at_least_one() -> None:
    with pytest.raises(ValueError):
        rto([], TL, capability="c", k=0)


@given(st.text(alphabet="+-", min_size=1, max_size=80), st.integers(min_value=1, max_value=5))
def test_rto_properties(pattern: str, k: int) -> None:
    samples = series(pattern)
    r = rto(samples, TL, capability="agent_login", k=k)
    window_failures = [s for s in samples if 10.0 <= s.at < 40.0 and not s.ok]
    assert r.disrupted == bool(window_failures)
    assert r.failures == len(window_failures)
    if r.disrupted and r.recovered_at is not None:
        assert r.recovered_at > window_failures[-1].at
        run = [s for s in samples if s.at >= r.recovered_at][:k]
        assert len(run) == k and all(s.ok for s in run)
        assert r.seconds == pytest.approx(r.recovered_at - 10.0)


def test_canary_samples_are_one_per_attempt() -> None:
    retried = op(
        1,
        attempts=(
            Attempt(sent=1.0, done=3.0, ok=False, error="timeout"),
            Attempt(sent=3.5, done=3.75, ok=True, status=202),
        ),
    )
    samples = canary_samples([retried, op(0)])
    assert samples == [
        Sample(capability="intake", at=0.0, ok=True, latency_s=0.1),
        Sample(capability="intake", at=1.0, ok=False, latency_s=2.0, detail="timeout"),
        Sample(capability="intake", at=3.5, ok=True, latency_s=0.25),
    ]


def test_ticket_samples_judge_freshness_per_acknowledged_intake() -> None:
    ops = [op(0), op(1), op(2), op(3), op(4, Outcome.UNKNOWN)]
    observed = Observed(
        tickets={
            "k0": (TicketSeen(code="a", created=0.1 + 4.0),),  # 4 s after the ack: fresh
            "k1": (TicketSeen(code="b", created=1.1 + 6.0),),  # 6 s: late
            "k2": (TicketSeen(code="c", created=1.0),),  # before its ack: fresh
            "k4": (TicketSeen(code="d", created=4.0),),  # not acknowledged: no sample
        }
    )
    samples = ticket_samples(ops, observed, freshness_s=5.0)
    assert [s.capability for s in samples] == ["ticket_creation"] * 4
    assert [s.at for s in samples] == pytest.approx([0.1, 1.1, 2.1, 3.1])
    assert [s.ok for s in samples] == [True, False, True, False]
    assert samples[0].latency_s == pytest.approx(4.0)
    assert samples[2].latency_s == pytest.approx(-1.1)
    assert samples[3].latency_s is None


def test_a_leader_on_an_affected_site_during_the_window_is_a_failure() -> None:
    probes = [
        Sample(capability="sla_clock", at=5.0, ok=True, detail="a"),  # before the fault: fine
        Sample(capability="sla_clock", at=12.0, ok=True, detail="a"),  # on the dead site: not leading
        Sample(capability="sla_clock", at=13.0, ok=True, detail=None),  # no leader
        Sample(capability="sla_clock", at=14.0, ok=True, detail=""),  # no leader
        Sample(capability="sla_clock", at=15.0, ok=False, detail="b"),  # the probe failed
        Sample(capability="sla_clock", at=16.0, ok=True, detail="b"),
        Sample(capability="sla_clock", at=45.0, ok=True, detail="a"),  # after the restore: fine
    ]
    judged = leader_samples(probes, TL, {"a"})
    assert [s.ok for s in judged] == [True, False, False, False, False, True, True]
    assert [s.detail for s in judged] == [s.detail for s in probes]
    r = rto(judged, TL, capability="sla_clock", k=1)
    assert (r.disrupted, r.failures, r.recovered_at) == (True, 4, 16.0)


# -- availability and latency ----------------------------------------------------------------


def test_the_longest_gap_counts_the_edges() -> None:
    def ok_at(seq: int, done: float) -> CanaryOp:
        return op(seq, invoked=done - 0.5, latency_s=0.5)

    middle = [ok_at(0, 5.0), ok_at(1, 6.0), ok_at(2, 40.0), ok_at(3, 55.0), op(4, Outcome.FAIL, invoked=20.0)]
    a = availability(middle, TL)
    assert (a.invoked, a.acknowledged, a.ratio) == (5, 4, 0.8)
    assert (a.longest_gap_s, a.longest_gap_from, a.longest_gap_to) == (34.0, 6.0, 40.0)

    late_start = availability([ok_at(0, 30.0), ok_at(1, 45.0)], TL)
    assert (late_start.longest_gap_s, late_start.longest_gap_from, late_start.longest_gap_to) == (30.0, 0.0, 30.0)

    early_end = availability([ok_at(0, 1.0), ok_at(1, 20.0)], TL)
    assert (early_end.longest_gap_s, early_end.longest_gap_from, early_end.longest_gap_to) == (40.0, 20.0, 60.0)


def test_availability_without_any_success_or_any_op() -> None:
    failing = availability([op(0, Outcome.FAIL), op(1, Outcome.UNKNOWN)], TL)
    assert failing == Availability(
        invoked=2, acknowledged=0, ratio=0.0, longest_gap_s=60.0, longest_gap_from=0.0, longest_gap_to=60.0
    )
    assert availability([], TL).ratio == 1.0


def test_a_retried_success_counts_at_its_completion() -> None:
    retried = op(
        0,
        invoked=1.0,
        attempts=(
            Attempt(sent=1.0, done=3.0, ok=False, error="timeout"),
            Attempt(sent=3.0, done=50.0, ok=True, status=202),
        ),
    )
    a = availability([retried], TL)
    assert (a.longest_gap_s, a.longest_gap_from, a.longest_gap_to) == (50.0, 0.0, 50.0)


def test_latency_by_phase_with_nearest_rank_percentiles() -> None:
    # before: latencies 1..10 s; during (10 <= invoked < 50, the convergence): 0.5 s x 99 and 30 s x 1;
    # after: none acknowledged
    before = [op(i, invoked=i * 0.5, latency_s=float(i + 1)) for i in range(10)]
    during = [op(10 + i, invoked=10.0 + i * 0.25, latency_s=0.5) for i in range(99)]
    during.append(op(109, invoked=49.75, latency_s=30.0))
    after = [op(110, Outcome.FAIL, invoked=50.0), op(111, Outcome.UNKNOWN, invoked=55.0)]
    phases = latency(before + during + after, TL)
    assert phases[0] == Latency(phase="before", count=10, p50_s=5.0, p99_s=10.0, max_s=10.0)
    assert phases[1] == Latency(phase="during", count=100, p50_s=0.5, p99_s=0.5, max_s=30.0)
    assert phases[2] == Latency(phase="after", count=0)


def test_the_during_phase_ends_at_the_restore_without_convergence() -> None:
    timeline = Timeline(started=0.0, fault_at=10.0, restore_at=40.0, ended=60.0)
    ops = [op(0, invoked=39.9), op(1, invoked=40.0), op(2, invoked=9.9)]
    assert [x.count for x in latency(ops, timeline)] == [1, 1, 1]
    open_ended = Timeline(started=0.0, fault_at=10.0, ended=60.0)
    assert [x.count for x in latency(ops, open_ended)] == [1, 2, 0]


def test_nearest_rank_on_known_values() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # 1..100 shuffled by reversal
    assert nearest_rank(values, 50) == 50.0
    assert nearest_rank(values, 99) == 99.0
    assert nearest_rank(values, 100) == 100.0
    assert nearest_rank([3.0, 1.0, 2.0], 50) == 2.0
    assert nearest_rank([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        nearest_rank([], 50)


@given(st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=300), st.integers(1, 100))
def test_nearest_rank_is_the_smallest_value_with_p_percent_at_or_below(values: list[int], p: int) -> None:
    floats = [float(v) for v in values]
    r = nearest_rank(floats, p)
    assert r in floats
    n = len(floats)
    assert 100 * sum(v <= r for v in floats) >= p * n
    assert 100 * sum(v < r for v in floats) < p * n


# -- findings, checks, verdict, notes --------------------------------------------------------


def test_check_orders_the_rtos_and_rejudges_the_sla_clock() -> None:
    ops = [op(i) for i in range(60)]
    observed = Observed(tickets=recorded(ops), in_kafka=frozenset(o.key for o in ops))
    probes = (
        [Sample(capability="sla_clock", at=float(i), ok=True, detail="a" if i < 20 else "b") for i in range(60)]
        + series("+" * 60, capability="db_primary")
        + series("+" * 60, capability="agent_login")
    )
    findings = check(ops, probes, observed, TL, k=3, freshness_s=5.0, affected_sites=("a",))
    assert [x.capability for x in findings.rto] == [
        "intake",
        "ticket_creation",
        "agent_login",
        "db_primary",
        "sla_clock",
    ]
    by = {x.capability: x for x in findings.rto}
    assert not by["intake"].disrupted and by["intake"].samples == 50
    assert not by["ticket_creation"].disrupted
    assert not by["agent_login"].disrupted
    assert by["sla_clock"].disrupted and by["sla_clock"].recovered_at == 20.0
    assert findings.rpo.lost == 0
    assert findings.availability.ratio == 1.0
    assert [x.phase for x in findings.latency] == ["before", "during", "after"]


def test_check_rejects_probes_named_like_derived_capabilities() -> None:
    with pytest.raises(ValueError):
        check([], series("+", capability="intake"), Observed(), TL, k=3, freshness_s=5.0, affected_sites=())


def findings(
    *,
    lost: int = 0,
    duplicates: int = 0,
    rtos: tuple[Rto, ...] = (),
    ratio: float = 1.0,
    ticket_slo: TicketSlo | None = None,
) -> Findings:
    return Findings(
        ticket_slo=ticket_slo,
        rpo=Rpo(acknowledged=100, lost=lost, duplicates=duplicates, lost_span_s=3.2 if lost else 0.0),
        rto=rtos,
        availability=Availability(invoked=100, acknowledged=round(ratio * 100), ratio=ratio, longest_gap_s=8.0),
        latency=(Latency(phase="before", count=0), Latency(phase="during", count=0), Latency(phase="after", count=0)),
    )


def recovered(capability: str, seconds: float | None, *, samples: int = 10, during: bool = True) -> Rto:
    return Rto(
        capability=capability,
        disrupted=seconds != 0.0,
        seconds=seconds,
        recovered_at=None if seconds is None else 10.0 + seconds,
        failures=0 if seconds == 0.0 else 3,
        samples=samples,
        recovered_during_fault=during and seconds is not None,
    )


OBJECTIVES = Objectives(rpo_max_lost=0, rto_s={"intake": 30.0, "agent_login": 60.0}, availability_min=0.95)


def test_judge_passes_when_every_objective_is_met() -> None:
    f = findings(rtos=(recovered("intake", 8.44), recovered("agent_login", 60.0)), ratio=0.95)
    checks = judge(f, OBJECTIVES)
    assert checks == (
        Check(name="RPO", target="≤ 0 lost, 0 duplicates", achieved="0 lost, 0 duplicates", passed=True),
        Check(name="RTO intake", target="≤ 30 s", achieved="8.4 s", passed=True),
        Check(name="RTO agent_login", target="≤ 60 s", achieved="60.0 s", passed=True),
        Check(name="availability", target="≥ 95.0 %", achieved="95.0 %", passed=True),
    )
    assert verdict(checks) == "pass"


@pytest.mark.parametrize(
    ("f", "failed", "achieved"),
    [
        (findings(lost=1), "RPO", "1 lost, 0 duplicates"),
        (findings(duplicates=1), "RPO", "0 lost, 1 duplicates"),
        (findings(rtos=(recovered("intake", 30.5),)), "RTO intake", "30.5 s"),
        (findings(rtos=(recovered("intake", None),)), "RTO intake", "not recovered"),
        (findings(rtos=(recovered("intake", 0.0, samples=0),)), "RTO intake", "not measured"),
        (findings(rtos=()), "RTO intake", "not measured"),
        (findings(ratio=0.94), "availability", "94.0 %"),
    ],
)
def test_judge_fails_each_check_on_its_own(f: Findings, failed: str, achieved: str) -> None:
    ok = {"intake": recovered("intake", 1.0), "agent_login": recovered("agent_login", 1.0)}
    rtos = {**ok, **{x.capability: x for x in f.rto}}
    if failed == "RTO intake" and not f.rto:
        del rtos["intake"]
    checks = judge(f.model_copy(update={"rto": tuple(rtos.values())}), OBJECTIVES)
    by = {c.name: c for c in checks}
    assert [c.name for c in checks] == ["RPO", "RTO intake", "RTO agent_login", "availability"]
    assert not by[failed].passed
    assert by[failed].achieved == achieved
    assert [c.name for c in checks if not c.passed] == [failed]
    assert verdict(checks) == "fail"


def test_judge_allows_the_loss_the_objective_allows() -> None:
    checks = judge(findings(lost=2), Objectives(rpo_max_lost=2))
    assert [c.passed for c in checks] == [True, True]
    assert checks[0].target == "≤ 2 lost, 0 duplicates"


def test_verdict() -> None:
    yes = Check(name="a", target="t", achieved="x", passed=True)
    no = Check(name="b", target="t", achieved="x", passed=False)
    assert verdict([yes, yes]) == "pass"
    assert verdict([yes, no]) == "fail"
    assert verdict([]) == "fail"


def test_notes_say_what_happened() -> None:
    f = findings(
        rtos=(
            recovered("intake", 0.0),
            recovered("agent_login", 62.0, during=False),
            recovered("db_primary", 8.44),
            recovered("sla_clock", None),
        ),
        ratio=0.952,
    )
    f = f.model_copy(update={"rpo": Rpo(acknowledged=812, lost=0, unknown=3, unknown_present=2, unknown_absent=1)})
    said = notes(f)
    assert "No acknowledged intake was lost (812 acknowledged)." in said
    assert "3 unknown outcomes: 2 recorded, 1 not." in said
    assert "Intake was not disrupted." in said
    assert "Agent login came back only after the fault was undone (62.0 s after the fault)." in said
    assert "Database primary recovered 8.4 s after the fault (3 failed samples)." in said
    assert "SLA-clock leadership did not recover before the drill ended." in said
    assert any(s.startswith("95.2 % of intakes acknowledged (95 of 100)") for s in said)


def test_notes_on_loss_and_duplicates() -> None:
    f = findings().model_copy(
        update={"rpo": Rpo(acknowledged=800, lost=2, lost_span_s=3.21, lost_not_in_kafka=1, duplicates=1)}
    )
    said = notes(f)
    assert "2 acknowledged intakes have no ticket (span 3.2 s)." in said
    assert "Of these, 1 reached Kafka and 1 did not." in said
    assert "1 intake has more than one ticket." in said
    assert not any("No acknowledged intake was lost" in s for s in said)
    one = notes(findings().model_copy(update={"rpo": Rpo(acknowledged=5, lost=1, lost_not_in_kafka=1)}))
    assert "1 acknowledged intake has no ticket (span 0.0 s)." in one
    assert "Of these, 0 reached Kafka and 1 did not." in one


def test_check_and_notes_are_deterministic() -> None:
    ops = [op(i) for i in range(30)]
    observed = Observed(tickets=recorded(ops, except_=("k12",)))
    probes = series("+" * 10 + "---" + "+" * 17)
    a = check(ops, probes, observed, TL, k=3, freshness_s=5.0, affected_sites=("a",))
    b = check(list(reversed(ops)), list(reversed(probes)), observed, TL, k=3, freshness_s=5.0, affected_sites=("a",))
    assert a == b
    assert notes(a) == notes(b)


def test_judged_samples_rejudge_only_the_sla_clock_for_the_chart() -> None:
    probes = [
        Sample(capability="sla_clock", at=12.0, ok=True, detail="a"),
        Sample(capability="agent_login", at=12.0, ok=True, detail="a"),
    ]
    judged = {s.capability: s.ok for s in judged_samples(probes, TL, {"a"})}
    assert judged == {"sla_clock": False, "agent_login": True}


# -- full recovery: what a client lived through -------------------------------------------------


def test_a_slow_first_attempt_counts_against_full_recovery_though_it_succeeded() -> None:
    """An intake acked 6 s after it was sent succeeded on its first attempt: the first-success RTO
    stays 0 s, but the client waited; full recovery runs to that acknowledgement."""
    ops = [op(9), op(10, latency_s=6.0), op(11, latency_s=0.2), op(12)]
    seconds, count = intake_full_recovery(ops, TL, first_attempt_s=1.0)
    assert (seconds, count) == (pytest.approx(6.0), 1)
    findings = check(ops, [], Observed(tickets=recorded(ops)), TL, k=1, freshness_s=10, affected_sites={"a"})
    intake = findings.rto[0]
    assert intake.seconds == 0.0 and intake.full_recovery_s == pytest.approx(6.0)
    checks = judge(findings, Objectives(rto_s={"intake": 3.0}))
    assert [c.achieved for c in checks if c.name == "RTO intake"] == ["6.0 s full (first success 0.0 s)"]
    assert not next(c for c in checks if c.name == "RTO intake").passed


def test_full_recovery_runs_to_the_last_retried_intake_and_ignores_the_restore() -> None:
    retried = op(
        14,
        latency_s=3.5,
        attempts=(
            Attempt(sent=14.0, done=14.5, ok=False, error="503"),
            Attempt(sent=17.0, done=17.5, ok=True, status=202),
        ),
    )
    after_restore = op(41, latency_s=5.0)  # disrupted by the restore, not by the fault
    before = op(5, latency_s=2.0)  # slow before the fault: not the fault's doing
    seconds, count = intake_full_recovery([before, op(12), retried, op(20), after_restore], TL, first_attempt_s=1.0)
    assert (seconds, count) == (pytest.approx(17.5 - 10.0), 1)
    assert intake_full_recovery([op(12), op(20)], TL, first_attempt_s=1.0) == (0.0, 0)


def test_ticket_full_recovery_is_the_last_late_ticket_or_none_when_one_is_missing() -> None:
    ops = [op(11), op(12), op(13)]
    late = {**recorded(ops), "k12": (TicketSeen(code="T12", created=12.1 + 25.0),)}
    assert ticket_full_recovery(ops, Observed(tickets=late), TL, freshness_s=10.0) == (pytest.approx(27.1), 1)
    missing = {k: v for k, v in recorded(ops).items() if k != "k13"}
    assert ticket_full_recovery(ops, Observed(tickets=missing), TL, freshness_s=10.0) == (None, 1)
    assert ticket_full_recovery(ops, Observed(tickets=recorded(ops)), TL, freshness_s=10.0) == (0.0, 0)


# -- the pipeline's SLO (202 -> ticket) ------------------------------------------------------


def _late(ops: list[CanaryOp], delays: dict[int, float]) -> Observed:
    """A ticket for every acknowledged op, `delays[seq]` s after its ack (0.5 s unless told)."""
    return Observed(
        tickets={
            o.key: (TicketSeen(code=f"T{o.seq}", created=(o.acked or 0.0) + delays.get(o.seq, 0.5)),)
            for o in ops
            if o.acked is not None
        }
    )


def test_ticket_delay_is_by_phase_from_the_acknowledgement() -> None:
    ops = [op(1), op(2), op(20), op(55)]  # before, before, during (until 50 s), after
    phases = ticket_delay(ops, _late(ops, {2: 3.0, 20: 12.0}), TL, slo_s=10.0)
    assert [(x.phase, x.count) for x in phases] == [("before", 2), ("during", 1), ("after", 1)]
    assert phases[0].max_s == pytest.approx(3.0)
    assert phases[1].p99_s == pytest.approx(12.0)


def test_the_slo_judges_only_outside_the_fault_and_counts_a_missing_ticket_as_late() -> None:
    ops = [op(i) for i in range(1, 10)] + [op(20), op(30)] + [op(i) for i in range(51, 60)]
    observed = _late(ops, {53: 11.0, 20: 40.0, 30: 40.0})  # one late outside, two late during the fault
    missing = Observed(tickets={k: v for k, v in observed.tickets.items() if k != "k52"})
    slo = ticket_slo(ops, missing, TL, slo_s=10.0)
    assert (slo.judged, slo.within) == (18, 16)  # the fault window's two are not judged
    assert slo.p99_s == pytest.approx(11.0)


def test_an_intake_whose_ticket_the_fault_held_up_is_judged_with_the_fault_not_before_it() -> None:
    # Acknowledged 1.9 s before the fault at 10 s; its ticket waits for the new primary (20 s).
    ops = [op(i) for i in range(1, 9)]
    observed = _late(ops, {8: 20.0, 7: 2.5})  # 7's ticket committed at 9.6 s, before the fault
    slo = ticket_slo(ops, observed, TL, slo_s=10.0)
    assert (slo.judged, slo.within, slo.in_flight_at_fault) == (7, 7, 1)
    phases = ticket_delay(ops, observed, TL, slo_s=10.0)
    assert [(x.phase, x.count) for x in phases] == [("before", 7), ("during", 1), ("after", 0)]
    assert any("1 intake acknowledged just before the fault" in n for n in notes(findings(ticket_slo=slo)))


def test_a_miss_whose_objective_ran_out_before_the_fault_is_still_judged_before_it() -> None:
    late_fault = Timeline(started=0.0, fault_at=30.0, restore_at=40.0, converged_at=50.0, ended=60.0)
    ops = [op(i) for i in range(1, 6)]
    slo = ticket_slo(ops, _late(ops, {2: 40.0}), late_fault, slo_s=10.0)  # due at 12.1 s, committed at 42.1 s
    assert (slo.judged, slo.within, slo.in_flight_at_fault) == (5, 4, 0)


def test_the_slo_check_fails_below_its_share_and_passes_at_it() -> None:
    ops = [op(i) for i in range(1, 6)] + [op(i) for i in range(51, 56)]  # 10 judged
    objectives = Objectives(ticket_slo_s=10.0, ticket_slo_share=0.9)
    one_late = check(ops, [], _late(ops, {51: 10.5}), TL, k=1, freshness_s=10.0, affected_sites=(), ticket_slo_s=10.0)
    two_late = check(
        ops, [], _late(ops, {51: 10.5, 52: 30.0}), TL, k=1, freshness_s=10.0, affected_sites=(), ticket_slo_s=10.0
    )
    assert [c.passed for c in judge(one_late, objectives) if c.name == "SLO 202 → ticket"] == [True]
    assert [c.passed for c in judge(two_late, objectives) if c.name == "SLO 202 → ticket"] == [False]
    assert any("8 of 10 acknowledged intakes had their ticket within 10 s" in n for n in notes(two_late))


def test_the_slo_is_not_judged_without_a_target_and_fails_when_nothing_was_measured() -> None:
    ops = [op(i) for i in range(1, 5)]
    measured = check(ops, [], _late(ops, {}), TL, k=1, freshness_s=10.0, affected_sites=())
    assert measured.ticket_slo is None
    assert not [c for c in judge(measured, Objectives()) if c.name == "SLO 202 → ticket"]
    unmeasured = judge(measured, Objectives(ticket_slo_s=10.0))
    assert [(c.achieved, c.passed) for c in unmeasured if c.name == "SLO 202 → ticket"] == [("not measured", False)]
