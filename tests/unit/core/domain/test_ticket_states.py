"""The ticket state machine: allowed moves, refusals that list what is allowed, reopen."""

from __future__ import annotations

import pytest

from core.domain.ticket_states import TRANSITIONS, InvalidTransition, TicketState, is_reopen, transition

S = TicketState


def test_happy_path() -> None:
    state = S.NEW
    for target in (
        S.ACKNOWLEDGED,
        S.IN_PROGRESS,
        S.PENDING_CUSTOMER,
        S.IN_PROGRESS,
        S.DISPATCHED_ONSITE,
        S.RESOLVED,
        S.CLOSED,
    ):
        state = transition(state, target)
    assert state == S.CLOSED


def test_invalid_transition_lists_allowed() -> None:
    with pytest.raises(InvalidTransition) as err:
        transition(S.NEW, S.CLOSED)
    assert err.value.allowed == [S.ACKNOWLEDGED, S.RESOLVED]
    assert str(err.value) == "cannot move a ticket from new to closed; allowed: acknowledged, resolved"


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_every_pair_is_either_allowed_or_refused(current: TicketState, target: TicketState) -> None:
    if target in TRANSITIONS[current]:
        assert transition(current, target) == target
    else:
        with pytest.raises(InvalidTransition):
            transition(current, target)


def test_reopen() -> None:
    assert is_reopen(S.CLOSED, S.IN_PROGRESS) and is_reopen(S.RESOLVED, S.IN_PROGRESS)
    assert not is_reopen(S.PENDING_CUSTOMER, S.IN_PROGRESS)


def test_every_state_is_reachable_from_new() -> None:
    seen, frontier = {S.NEW}, [S.NEW]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(S)
