"""The ticket state machine. Pure: which transitions are allowed, and a clear refusal."""

from __future__ import annotations

from enum import StrEnum


class TicketState(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    PENDING_CUSTOMER = "pending_customer"
    DISPATCHED_ONSITE = "dispatched_onsite"
    RESOLVED = "resolved"
    CLOSED = "closed"


S = TicketState
TRANSITIONS: dict[TicketState, frozenset[TicketState]] = {
    # new -> resolved: a monitoring alert that cleared on its own, or a duplicate.
    S.NEW: frozenset({S.ACKNOWLEDGED, S.RESOLVED}),
    S.ACKNOWLEDGED: frozenset({S.IN_PROGRESS, S.PENDING_CUSTOMER, S.DISPATCHED_ONSITE, S.RESOLVED}),
    S.IN_PROGRESS: frozenset({S.PENDING_CUSTOMER, S.DISPATCHED_ONSITE, S.RESOLVED}),
    S.PENDING_CUSTOMER: frozenset({S.IN_PROGRESS, S.RESOLVED}),
    S.DISPATCHED_ONSITE: frozenset({S.IN_PROGRESS, S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.IN_PROGRESS}),  # back to in_progress is a reopen
    S.CLOSED: frozenset({S.IN_PROGRESS}),  # reopen after closing
}
OPEN_STATES = frozenset(set(TicketState) - {S.RESOLVED, S.CLOSED})
# The SLA clock stops while the ticket waits on the customer.
PAUSED_STATES = frozenset({S.PENDING_CUSTOMER})


class InvalidTransition(Exception):
    """A conflict (HTTP 409): the message lists the transitions that are allowed."""

    def __init__(self, current: TicketState, target: TicketState) -> None:
        self.current = current
        self.target = target
        self.allowed = sorted(TRANSITIONS[current])
        super().__init__(
            f"cannot move a ticket from {current} to {target}; allowed: {', '.join(self.allowed) or 'none'}"
        )


def transition(current: TicketState, target: TicketState) -> TicketState:
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(current, target)
    return target


def is_reopen(current: TicketState, target: TicketState) -> bool:
    return current in (S.RESOLVED, S.CLOSED) and target == S.IN_PROGRESS
