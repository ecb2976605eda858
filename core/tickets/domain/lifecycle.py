"""What a state change does to a ticket's SLA clock. Pure: no I/O.

- leaving `new` for the first time answers the customer: `responded_at`;
- entering `pending_customer` opens a pause: the resolution deadline is unknown until it ends;
- leaving it closes the pause and pushes the resolution deadline back by the paused time;
- `resolved` and `closed` stamp their times; a reopen clears them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from core.domain.sla import Pause, SlaSnapshot, deadline
from core.domain.ticket_states import PAUSED_STATES, TicketState, is_reopen, transition
from core.tickets.domain.model import SlaClock

S = TicketState


def due_and_warning(
    snap: SlaSnapshot, target: timedelta | None, pauses: tuple[Pause, ...] = ()
) -> tuple[datetime | None, datetime | None]:
    """When `target` runs out, and when the warning share of it does (None: no target, or paused)."""
    if target is None:
        return None, None
    due = deadline(snap.calendar, snap.opened_at, target, pauses)
    warn = deadline(snap.calendar, snap.opened_at, target * snap.warn_at, pauses)
    return due, warn


def new_clock(snap: SlaSnapshot) -> SlaClock:
    """The clock of a ticket that has just opened under `snap`."""
    response_due, response_warn = due_and_warning(snap, snap.targets.response)
    resolution_due, resolution_warn = due_and_warning(snap, snap.targets.resolution)
    return SlaClock(
        snapshot=snap,
        response_due=response_due,
        response_warn_at=response_warn,
        resolution_due=resolution_due,
        resolution_warn_at=resolution_warn,
    )


def change_state(clock: SlaClock, current: TicketState, target: TicketState, now: datetime) -> SlaClock:
    """The clock after `current -> target` at `now`; raises InvalidTransition if not allowed."""
    transition(current, target)
    update: dict[str, object] = {}
    pauses = clock.pauses
    if current is S.NEW and clock.responded_at is None:
        update["responded_at"] = now
    if target in PAUSED_STATES and current not in PAUSED_STATES:
        pauses = (*pauses, Pause(begin=now))
    if current in PAUSED_STATES and target not in PAUSED_STATES:
        pauses = tuple(p if p.end is not None else Pause(begin=p.begin, end=max(now, p.begin)) for p in pauses)
    if pauses != clock.pauses:
        due, warn = due_and_warning(clock.snapshot, clock.snapshot.targets.resolution, pauses)
        update |= {"pauses": pauses, "resolution_due": due, "resolution_warn_at": warn}
    if target is S.RESOLVED:
        update["resolved_at"] = now
    if target is S.CLOSED:
        update["closed_at"] = now
    if is_reopen(current, target):
        update |= {"resolved_at": None, "closed_at": None}
    return clock.model_copy(update=update)


class ClockState(StrEnum):
    ON_TRACK = "on_track"
    WARNING = "warning"
    BREACHED = "breached"
    PAUSED = "paused"


def _late(done: datetime | None, due: datetime | None, now: datetime) -> bool:
    return due is not None and (done or now) > due


def ticket_sla_state(clock: SlaClock, status: TicketState, now: datetime) -> ClockState:
    """One word for lists and filters; core.tickets.store.queries mirrors this in SQL."""
    if _late(clock.responded_at, clock.response_due, now) or _late(clock.resolved_at, clock.resolution_due, now):
        return ClockState.BREACHED
    if status in PAUSED_STATES:
        return ClockState.PAUSED
    if status in (S.RESOLVED, S.CLOSED):
        return ClockState.ON_TRACK
    response_warn = clock.responded_at is None and clock.response_warn_at is not None and now > clock.response_warn_at
    resolution_warn = clock.resolution_warn_at is not None and now > clock.resolution_warn_at
    return ClockState.WARNING if response_warn or resolution_warn else ClockState.ON_TRACK
