"""The SLA clock's decisions: warnings, breaches, escalations, reminders and follow-ups."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.escalation import EscalationChain, SupportLevel
from core.domain.priority import Priority
from core.domain.ticket_states import OPEN_STATES, PAUSED_STATES, TicketState
from core.tickets.domain.sla_clock import ClockAction, ClockView, due_actions, followup_key, next_due, next_look

S = TicketState
L1, L2, L3 = SupportLevel.L1, SupportLevel.L2, SupportLevel.L3
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 08:00 in Hanoi
H = timedelta(hours=1)
US = timedelta(microseconds=1)
CODE = "INC-2026-0302-0001"
RUNNING = sorted(OPEN_STATES - PAUSED_STATES)  # open and not waiting on the customer
ENDED = [S.RESOLVED, S.CLOSED]


def view(**overrides: Any) -> ClockView:
    """A P3 ticket at L1, in progress, opened at T0, no deadlines, nothing done."""
    fields: dict[str, Any] = {
        "code": CODE,
        "status": S.IN_PROGRESS,
        "priority": Priority.P3,
        "level": L1,
        "opened_at": T0,
        "level_since": T0,
        "chain": EscalationChain(),
    }
    fields.update(overrides)
    return ClockView(**fields)


def by_key(actions: Iterable[ClockAction]) -> dict[str, ClockAction]:
    return {a.key: a for a in actions}


def keys(actions: Iterable[ClockAction]) -> list[str]:
    return [a.key for a in actions]


def kinds(actions: Iterable[ClockAction]) -> set[str]:
    return {a.kind for a in actions}


def apply(v: ClockView, action: ClockAction) -> ClockView:
    """What the executor does after recording `action` (core.tickets.store.clock_store)."""
    v = dataclasses.replace(v, done=v.done | {action.key})
    if action.escalate_to is not None:
        v = dataclasses.replace(v, level=action.escalate_to, level_since=action.due_at)
    return v


# --- escalation -------------------------------------------------------------------------------


def test_l1_escalates_to_l2_exactly_one_hour_after_opening() -> None:
    assert due_actions(view(), T0 + H - US) == []
    [action] = due_actions(view(), T0 + H)
    assert action == ClockAction(
        CODE,
        "escalate:L2",
        "escalated",
        T0 + H,
        {"from": "L1", "to": "L2", "due_at": (T0 + H).isoformat(), "reason": "not resolved 1 h after reaching L1"},
        escalate_to=L2,
    )


def test_l2_escalates_to_l3_two_hours_after_reaching_l2() -> None:
    at_l2 = view(level=L2, level_since=T0 + H)
    assert due_actions(at_l2, T0 + 3 * H - US) == []
    [action] = due_actions(at_l2, T0 + 3 * H)
    assert (action.key, action.kind, action.due_at, action.escalate_to) == ("escalate:L3", "escalated", T0 + 3 * H, L3)
    assert action.data == {
        "from": "L2",
        "to": "L3",
        "due_at": (T0 + 3 * H).isoformat(),
        "reason": "not resolved 2 h after reaching L2",
    }


def test_l3_triggers_the_emergency_plan_two_hours_later_and_calls_the_duty_manager() -> None:
    at_l3 = view(level=L3, level_since=T0 + 3 * H)
    assert due_actions(at_l3, T0 + 5 * H - US) == []
    [action] = due_actions(at_l3, T0 + 5 * H)
    assert action == ClockAction(
        CODE,
        "emergency",
        "emergency_plan",
        T0 + 5 * H,
        {"level": "L3", "notify": "duty_manager", "reason": "not resolved 2 h after reaching L3"},
        escalate_to=None,
    )


def test_escalation_counts_from_level_since_not_from_opening() -> None:
    manually_escalated = view(level=L2, level_since=T0 + 10 * H)
    assert due_actions(manually_escalated, T0 + 12 * H - US) == []
    assert keys(due_actions(manually_escalated, T0 + 12 * H)) == ["escalate:L3"]


def test_a_late_escalation_keeps_its_due_time() -> None:
    [action] = due_actions(view(), T0 + 10 * H)
    assert action.due_at == T0 + H
    assert action.data["due_at"] == (T0 + H).isoformat()


def test_only_the_next_step_of_the_chain_is_due_until_the_level_changes() -> None:
    assert keys(due_actions(view(), T0 + 100 * H)) == ["escalate:L2"]
    assert due_actions(view(done=frozenset({"escalate:L2"})), T0 + 100 * H) == []


def test_the_chain_snapshotted_on_the_ticket_sets_the_timers() -> None:
    chain = EscalationChain(l2_after=timedelta(minutes=30), l3_after=timedelta(minutes=90))
    assert due_actions(view(chain=chain), T0 + timedelta(minutes=30) - US) == []
    [action] = due_actions(view(chain=chain), T0 + timedelta(minutes=30))
    assert action.data["reason"] == "not resolved 0.5 h after reaching L1"
    [action] = due_actions(view(chain=chain, level=L2), T0 + timedelta(minutes=90))
    assert action.data["reason"] == "not resolved 1.5 h after reaching L2"


@pytest.mark.parametrize("status", RUNNING)
@pytest.mark.parametrize("level", list(SupportLevel))
def test_every_running_state_escalates(status: TicketState, level: SupportLevel) -> None:
    assert kinds(due_actions(view(status=status, level=level), T0 + 100 * H)) <= {"escalated", "emergency_plan"}
    assert len(due_actions(view(status=status, level=level), T0 + 100 * H)) == 1


@pytest.mark.parametrize("level", list(SupportLevel))
def test_no_escalation_while_waiting_on_the_customer(level: SupportLevel) -> None:
    assert due_actions(view(status=S.PENDING_CUSTOMER, level=level), T0 + 1000 * H) == []
    assert next_due(view(status=S.PENDING_CUSTOMER, level=level), T0, T0 + 1000 * H) is None


def test_escalation_goes_by_the_wall_clock_once_the_customer_answers() -> None:
    waited = view(status=S.PENDING_CUSTOMER)
    assert due_actions(waited, T0 + 5 * H) == []
    [action] = due_actions(dataclasses.replace(waited, status=S.IN_PROGRESS), T0 + 5 * H)
    assert (action.key, action.due_at) == ("escalate:L2", T0 + H)


@pytest.mark.parametrize("status", ENDED)
@pytest.mark.parametrize("level", list(SupportLevel))
def test_no_escalation_once_resolved_or_closed(status: TicketState, level: SupportLevel) -> None:
    assert due_actions(view(status=status, level=level), T0 + 1000 * H) == []


# --- SLA warnings and breaches ----------------------------------------------------------------

DEADLINES = {
    "response_warn_at": T0 + timedelta(minutes=10),
    "response_due": T0 + timedelta(minutes=15),
    "resolution_warn_at": T0 + timedelta(minutes=20),
    "resolution_due": T0 + timedelta(minutes=30),
}
WITH_DEADLINES = {**DEADLINES, "chain": EscalationChain(l2_after=1000 * H)}  # no escalation in the way


@pytest.mark.parametrize(
    ("key", "kind", "due_at", "data"),
    [
        (
            "response_warning",
            "sla_warning",
            DEADLINES["response_warn_at"],
            {"target": "response", "due": DEADLINES["response_due"].isoformat()},
        ),
        ("response_breach", "sla_breached", DEADLINES["response_due"], {"target": "response"}),
        (
            "resolution_warning",
            "sla_warning",
            DEADLINES["resolution_warn_at"],
            {"target": "resolution", "due": DEADLINES["resolution_due"].isoformat()},
        ),
        ("resolution_breach", "sla_breached", DEADLINES["resolution_due"], {"target": "resolution"}),
    ],
)
def test_each_deadline_is_due_exactly_at_its_time(key: str, kind: str, due_at: datetime, data: dict[str, Any]) -> None:
    v = view(**WITH_DEADLINES)
    assert key not in by_key(due_actions(v, due_at - US))
    action = by_key(due_actions(v, due_at))[key]
    assert action == ClockAction(CODE, key, kind, due_at, data)


def test_deadlines_come_in_time_order() -> None:
    assert keys(due_actions(view(**WITH_DEADLINES), T0 + H)) == [
        "response_warning",
        "response_breach",
        "resolution_warning",
        "resolution_breach",
    ]


def test_no_response_warning_or_breach_once_responded() -> None:
    v = view(**WITH_DEADLINES, responded_at=T0 + timedelta(minutes=12))
    assert keys(due_actions(v, T0 + H)) == ["resolution_warning", "resolution_breach"]


def test_a_warning_without_a_due_time_says_so() -> None:
    v = view(chain=EscalationChain(l2_after=1000 * H), resolution_warn_at=T0 + H)
    [action] = due_actions(v, T0 + H)
    assert action.data == {"target": "resolution", "due": None}


def test_no_deadlines_no_sla_actions() -> None:
    assert due_actions(view(chain=EscalationChain(l2_after=1000 * H)), T0 + 999 * H) == []


def test_a_paused_ticket_has_no_resolution_deadline_and_so_no_resolution_action() -> None:
    # While the ticket waits on the customer the projection clears the resolution deadline.
    v = view(status=S.PENDING_CUSTOMER, responded_at=T0, response_due=T0 + H, response_warn_at=T0)
    assert due_actions(v, T0 + 100 * H) == []


@pytest.mark.parametrize("status", ENDED)
def test_no_sla_actions_once_resolved_or_closed(status: TicketState) -> None:
    v = view(**WITH_DEADLINES, status=status)
    assert due_actions(v, T0 + 100 * H) == []


# A breach missed while no clock leader ran is recorded late, even if the work was done (late) meanwhile.


def test_a_late_response_during_a_clock_outage_is_still_recorded_as_a_breach() -> None:
    v = view(**WITH_DEADLINES)
    assert "response_breach" in keys(due_actions(v, DEADLINES["response_due"]))  # the clock running
    answered_late = dataclasses.replace(v, responded_at=DEADLINES["response_due"] + 15 * timedelta(minutes=1))
    assert "response_breach" in keys(due_actions(answered_late, T0 + H))  # the clock back after an outage


def test_a_late_resolution_during_a_clock_outage_is_still_recorded_as_a_breach() -> None:
    v = view(**WITH_DEADLINES, responded_at=T0)
    assert "resolution_breach" in keys(due_actions(v, DEADLINES["resolution_due"]))  # the clock running
    resolved_late = dataclasses.replace(v, status=S.RESOLVED, resolved_at=DEADLINES["resolution_due"] + H)
    assert "resolution_breach" in keys(due_actions(resolved_late, T0 + 2 * H))  # the clock back after an outage


# --- what is done is never done again ---------------------------------------------------------

EVERYTHING_DUE = {
    **DEADLINES,
    "priority": Priority.P1,
}


@pytest.mark.parametrize(
    "key", ["response_warning", "response_breach", "resolution_warning", "resolution_breach", "escalate:L2"]
)
def test_a_recorded_key_is_never_returned_again(key: str) -> None:
    v = view(**EVERYTHING_DUE)
    everything = keys(due_actions(v, T0 + 5 * H))
    assert key in everything
    again = keys(due_actions(dataclasses.replace(v, done=frozenset({key})), T0 + 5 * H))
    assert again == [k for k in everything if k != key]


def test_recorded_emergency_and_followup_are_never_returned_again() -> None:
    at_l3 = view(level=L3, done=frozenset({"emergency"}))
    assert due_actions(at_l3, T0 + 100 * H) == []
    resolved = view(status=S.RESOLVED, resolved_at=T0 + H)
    followup, overdue = due_actions(resolved, T0 + 100 * H)
    sent = frozenset({followup.key, overdue.key})
    assert due_actions(dataclasses.replace(resolved, done=sent), T0 + 100 * H) == []


def test_the_follow_up_is_due_after_24_h_and_overdue_to_the_duty_manager_after_72_h() -> None:
    resolved = view(status=S.RESOLVED, resolved_at=T0)
    assert due_actions(resolved, T0 + 23 * H) == []
    [due] = due_actions(resolved, T0 + 24 * H)
    assert (due.kind, due.data["until"]) == ("followup_due", (T0 + 72 * H).isoformat())
    reminded = dataclasses.replace(resolved, done=frozenset({due.key}))
    [overdue] = due_actions(reminded, T0 + 72 * H)
    assert (overdue.kind, overdue.due_at, overdue.data["notify"]) == ("followup_overdue", T0 + 72 * H, "duty_manager")


def test_a_recorded_follow_up_ends_the_reminders_of_that_resolution_only() -> None:
    recorded = view(status=S.RESOLVED, resolved_at=T0, done=frozenset({followup_key(T0)}))
    assert due_actions(recorded, T0 + 100 * H) == []
    # Reopened and resolved again later: the new resolution is followed up again.
    again = dataclasses.replace(recorded, resolved_at=T0 + 10 * H)
    assert [a.kind for a in due_actions(again, T0 + 100 * H)] == ["followup_due", "followup_overdue"]


def test_unrelated_recorded_keys_change_nothing() -> None:
    v = view(**EVERYTHING_DUE)
    noisy = dataclasses.replace(v, done=frozenset({"escalate:L3", "progress:99", "followup:x", "emergency"}))
    assert due_actions(noisy, T0 + 5 * H) == due_actions(v, T0 + 5 * H)


# --- progress reminders -----------------------------------------------------------------------

NO_ESCALATION = frozenset({"escalate:L2"})


@pytest.mark.parametrize("priority", [Priority.P1, Priority.P2])
def test_p1_and_p2_get_a_progress_reminder_every_two_hours(priority: Priority) -> None:
    v = view(priority=priority, done=NO_ESCALATION)
    assert due_actions(v, T0 + 2 * H - US) == []
    assert due_actions(v, T0 + 7 * H) == [
        ClockAction(CODE, f"progress:{n}", "progress_update_due", T0 + 2 * n * H, {"number": n}) for n in (1, 2, 3)
    ]
    assert keys(due_actions(v, T0 + 8 * H)) == ["progress:1", "progress:2", "progress:3", "progress:4"]


@pytest.mark.parametrize("priority", [Priority.P3, Priority.P4])
def test_p3_and_p4_get_no_progress_reminders(priority: Priority) -> None:
    assert due_actions(view(priority=priority, done=NO_ESCALATION), T0 + 100 * H) == []


def test_the_chain_says_which_priorities_get_reminders_and_how_often() -> None:
    chain = EscalationChain(progress_priorities=frozenset({Priority.P3}), progress_every=30 * timedelta(minutes=1))
    p3 = view(priority=Priority.P3, chain=chain, done=NO_ESCALATION)
    assert keys(due_actions(p3, T0 + H)) == ["progress:1", "progress:2"]
    assert due_actions(dataclasses.replace(p3, priority=Priority.P1), T0 + H) == []


def test_reminders_count_from_opening_not_from_the_level() -> None:
    v = view(priority=Priority.P1, level=L2, level_since=T0 + 3 * H, done=frozenset({"escalate:L3"}))
    assert [a.due_at for a in due_actions(v, T0 + 4 * H)] == [T0 + 2 * H, T0 + 4 * H]


def test_reminders_already_recorded_are_not_repeated() -> None:
    v = view(priority=Priority.P1, done=NO_ESCALATION | {"progress:1", "progress:2"})
    assert keys(due_actions(v, T0 + 7 * H)) == ["progress:3"]


def test_reminders_continue_while_waiting_on_the_customer() -> None:
    assert keys(due_actions(view(priority=Priority.P1, status=S.PENDING_CUSTOMER), T0 + 2 * H)) == ["progress:1"]


@pytest.mark.parametrize("status", ENDED)
def test_no_reminders_once_resolved_or_closed(status: TicketState) -> None:
    assert due_actions(view(priority=Priority.P1, status=status), T0 + 100 * H) == []


def test_no_reminders_before_opening() -> None:
    assert due_actions(view(priority=Priority.P1, done=NO_ESCALATION), T0 - 10 * H) == []


# --- follow-up --------------------------------------------------------------------------------

RESOLVED_AT = T0 + 5 * H


@pytest.mark.parametrize("status", ENDED)
def test_follow_up_is_due_a_day_after_resolution(status: TicketState) -> None:
    v = view(status=status, resolved_at=RESOLVED_AT)
    assert due_actions(v, RESOLVED_AT + 24 * H - US) == []
    [action] = due_actions(v, RESOLVED_AT + 24 * H)
    assert action == ClockAction(
        CODE,
        f"followup:{RESOLVED_AT.isoformat()}",
        "followup_due",
        RESOLVED_AT + 24 * H,
        {"resolved_at": RESOLVED_AT.isoformat(), "until": (RESOLVED_AT + 72 * H).isoformat()},
    )


def test_a_reopened_and_re_resolved_ticket_is_followed_up_again() -> None:
    first = view(status=S.RESOLVED, resolved_at=RESOLVED_AT)
    [followup] = due_actions(first, RESOLVED_AT + 30 * H)
    again = view(status=S.CLOSED, resolved_at=RESOLVED_AT + 40 * H, done=frozenset({followup.key}))
    assert due_actions(again, RESOLVED_AT + 63 * H) == []
    [second] = due_actions(again, RESOLVED_AT + 64 * H)
    assert second.key == f"followup:{(RESOLVED_AT + 40 * H).isoformat()}" != followup.key


def test_no_follow_up_without_a_resolution_time() -> None:
    assert due_actions(view(status=S.RESOLVED, resolved_at=None), T0 + 1000 * H) == []


@pytest.mark.parametrize("status", RUNNING)
def test_no_follow_up_while_open(status: TicketState) -> None:
    v = view(status=status, resolved_at=RESOLVED_AT, done=NO_ESCALATION)
    assert "followup_due" not in kinds(due_actions(v, RESOLVED_AT + 100 * H))


def test_follow_up_timing_comes_from_the_chain() -> None:
    chain = EscalationChain(followup_after=timedelta(0), followup_until=timedelta(hours=48))
    [action] = due_actions(view(status=S.RESOLVED, resolved_at=RESOLVED_AT, chain=chain), RESOLVED_AT)
    assert action.due_at == RESOLVED_AT
    assert action.data["until"] == (RESOLVED_AT + 48 * H).isoformat()


# --- order and next_due -----------------------------------------------------------------------


def test_results_are_sorted_by_due_time_then_key() -> None:
    v = view(
        priority=Priority.P1,
        response_due=T0 + H,  # same time as the escalation
        resolution_warn_at=T0 + H,
        resolution_due=T0 + 2 * H,  # same time as the first reminder
        response_warn_at=T0 + timedelta(minutes=30),
    )
    assert [(a.due_at, a.key) for a in due_actions(v, T0 + 2 * H)] == [
        (T0 + timedelta(minutes=30), "response_warning"),
        (T0 + H, "escalate:L2"),
        (T0 + H, "resolution_warning"),
        (T0 + H, "response_breach"),
        (T0 + 2 * H, "progress:1"),
        (T0 + 2 * H, "resolution_breach"),
    ]


def test_next_due_is_the_earliest_pending_action_up_to_the_horizon() -> None:
    assert next_due(view(), T0, T0 + H - US) is None
    assert next_due(view(), T0, T0 + H) == T0 + H
    assert next_due(view(**WITH_DEADLINES), T0, T0 + 100 * H) == DEADLINES["response_warn_at"]


def test_next_due_skips_recorded_actions_and_sees_reminders_up_to_the_horizon() -> None:
    p1 = view(priority=Priority.P1, done=NO_ESCALATION)
    assert next_due(p1, T0, T0 + 2 * H - US) is None
    assert next_due(p1, T0, T0 + 5 * H) == T0 + 2 * H
    assert next_due(dataclasses.replace(p1, done=NO_ESCALATION | {"progress:1"}), T0, T0 + 5 * H) == T0 + 4 * H


def test_next_due_includes_what_is_already_overdue() -> None:
    assert next_due(view(), T0 + 10 * H, T0 + 11 * H) == T0 + H


def test_next_due_is_none_when_everything_is_done() -> None:
    assert next_due(view(level=L3, done=frozenset({"emergency"})), T0, T0 + 1000 * H) is None


# --- properties -------------------------------------------------------------------------------

MINUTE = timedelta(minutes=1)
ALL_KEYS = [
    "response_warning",
    "response_breach",
    "resolution_warning",
    "resolution_breach",
    "escalate:L2",
    "escalate:L3",
    "emergency",
    "progress:1",
    "progress:2",
    "progress:5",
]


def offsets(max_hours: int = 48) -> st.SearchStrategy[timedelta]:
    return st.integers(0, max_hours * 3600).map(lambda s: timedelta(seconds=s))


def minutes(low: int, high: int) -> st.SearchStrategy[timedelta]:
    return st.integers(low, high).map(lambda m: m * MINUTE)


chains = st.just(EscalationChain()) | st.builds(
    EscalationChain,
    l2_after=minutes(1, 360),
    l3_after=minutes(1, 360),
    emergency_after=minutes(1, 360),
    progress_every=minutes(30, 360),  # keeps the number of reminders small
    progress_priorities=st.frozensets(st.sampled_from(list(Priority))),
    followup_after=minutes(0, 48 * 60),
    followup_until=minutes(1, 96 * 60),
)
maybe_offset = st.none() | offsets()
done_keys = st.frozensets(st.sampled_from(ALL_KEYS))


@st.composite
def views(draw: st.DrawFn, *, with_done: bool = True) -> ClockView:
    """Any ticket the clock may see; deadlines and responses anywhere in its first two days."""
    opened_at = T0 + draw(offsets(24))
    status = draw(st.sampled_from(list(TicketState)))

    def maybe_at() -> datetime | None:
        offset = draw(maybe_offset)
        return None if offset is None else opened_at + offset

    return ClockView(
        code=CODE,
        status=status,
        priority=draw(st.sampled_from(list(Priority))),
        level=draw(st.sampled_from(list(SupportLevel))),
        opened_at=opened_at,
        level_since=opened_at + draw(offsets(6)),
        chain=draw(chains),
        response_due=maybe_at(),
        response_warn_at=maybe_at(),
        resolution_due=maybe_at(),
        resolution_warn_at=maybe_at(),
        responded_at=maybe_at(),
        resolved_at=opened_at + draw(offsets()) if status in ENDED else None,
        done=draw(done_keys) if with_done else frozenset(),
    )


instants = offsets(24 * 4).map(lambda d: T0 + d)


@given(views(), instants)
def test_every_action_is_due_new_sorted_and_about_this_ticket(v: ClockView, now: datetime) -> None:
    actions = due_actions(v, now)
    assert all(a.due_at <= now for a in actions)
    assert all(a.key not in v.done and a.code == CODE for a in actions)
    assert len(set(keys(actions))) == len(actions)
    assert [(a.due_at, a.key) for a in actions] == sorted((a.due_at, a.key) for a in actions)


@given(views(), instants)
def test_recording_what_is_due_leaves_nothing_due(v: ClockView, now: datetime) -> None:
    recorded = dataclasses.replace(v, done=v.done | set(keys(due_actions(v, now))))
    assert due_actions(recorded, now) == []


@given(views(), instants, offsets(24 * 3))
def test_what_is_due_only_grows_with_time(v: ClockView, now: datetime, later: timedelta) -> None:
    assert set(keys(due_actions(v, now))) <= set(keys(due_actions(v, now + later)))


@given(views(), instants, offsets(24 * 3))
def test_next_due_is_the_first_action_due_by_the_horizon(v: ClockView, now: datetime, ahead: timedelta) -> None:
    horizon = now + ahead
    expected = due_actions(v, horizon)
    assert next_due(v, now, horizon) == (expected[0].due_at if expected else None)


def run_clock(v: ClockView, ticks: Iterable[datetime], *, drain_each_tick: bool) -> dict[str, tuple[str, datetime]]:
    """Runs the executor at each tick (then until nothing is due at the last one): every recorded
    key with its kind and due time. Fails if anything is recorded twice."""
    recorded: dict[str, tuple[str, datetime]] = {}

    def tick(now: datetime) -> bool:
        nonlocal v
        actions = due_actions(v, now)
        for action in actions:
            assert action.key not in recorded, f"{action.key} recorded twice"
            recorded[action.key] = (action.kind, action.due_at)
            v = apply(v, action)
        return bool(actions)

    last = None
    for now in ticks:
        last = now
        rounds = 0
        while tick(now) and drain_each_tick:
            rounds += 1
            assert rounds < 10, "the executor never catches up"
    assert last is not None
    for _ in range(10):  # the last tick: until nothing is due (one escalation step per round)
        if not tick(last):
            break
    assert due_actions(v, last) == []
    return recorded


@settings(max_examples=200)
@given(
    views(with_done=False),
    st.lists(st.integers(1, 4 * 3600).map(lambda s: timedelta(seconds=s)), min_size=1, max_size=30),
    st.booleans(),
)
def test_a_clock_outage_changes_when_actions_happen_not_which(
    v: ClockView, steps: list[timedelta], drain_each_tick: bool
) -> None:
    ticks, now = [], v.opened_at
    for step in steps:
        now += step
        ticks.append(now)
    stepped = run_clock(v, ticks, drain_each_tick=drain_each_tick)
    after_outage = run_clock(v, [ticks[-1]], drain_each_tick=True)
    assert stepped == after_outage


def test_a_long_outage_catches_up_the_whole_escalation_chain() -> None:
    recorded = run_clock(view(priority=Priority.P2), [T0 + 6 * H], drain_each_tick=False)
    assert recorded == {
        "escalate:L2": ("escalated", T0 + H),
        "escalate:L3": ("escalated", T0 + 3 * H),
        "emergency": ("emergency_plan", T0 + 5 * H),
        "progress:1": ("progress_update_due", T0 + 2 * H),
        "progress:2": ("progress_update_due", T0 + 4 * H),
        "progress:3": ("progress_update_due", T0 + 6 * H),
    }


def test_next_look_is_the_next_action_or_the_horizon_while_something_can_fall_due() -> None:
    now = T0 + 10 * H
    # Open: the escalation to L2 was due at T0 + 1 h and is not recorded: look again at once.
    assert next_look(view(), now, H) == T0 + H
    # Open with everything recorded up to the horizon: look again at the horizon.
    done = frozenset({"escalate:L2"})
    assert next_look(view(level=L3, done=done | {"emergency"}), now, H) == now + H
    # Resolved, follow-up not recorded yet: at its due time (24 h), or the horizon before it.
    resolved = view(status=S.RESOLVED, resolved_at=now)
    assert next_look(resolved, now, H) == now + H
    assert next_look(resolved, now, 30 * H) == now + EscalationChain().followup_after
    # Reminded but not recorded: the overdue notice at 72 h is still to come.
    reminded = view(status=S.RESOLVED, resolved_at=now, done=frozenset({f"followup:{now.isoformat()}"}))
    assert next_look(reminded, now, 100 * H) == now + EscalationChain().followup_until
    # Resolved and followed up: nothing can fall due without a change.
    followed = view(status=S.RESOLVED, resolved_at=now, done=frozenset({followup_key(now)}))
    assert next_look(followed, now, 100 * H) is None
