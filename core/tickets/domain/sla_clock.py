"""What the SLA clock must do for one ticket at one instant. Pure: no I/O, no clock reads.

The clock singleton reads a snapshot of each open (or recently resolved) ticket with the keys of
the scheduled actions already recorded, asks `due_actions`, and appends one ticket event per
action. Every action has a stable key, recorded with the event (unique per ticket in
PostgreSQL), so running the decision twice — or on two leaders — cannot do anything twice, and
an action missed while no leader ran is done late rather than skipped.

Escalation goes by the wall clock from the moment the ticket reached its level (L1: opened).
An automatic escalation takes effect at its due time, not when the clock got to it, so a clock
outage does not push the next step back. A ticket waiting on the customer does not escalate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.domain.escalation import NEXT_LEVEL, EscalationChain, SupportLevel
from core.domain.priority import Priority
from core.domain.ticket_states import OPEN_STATES, PAUSED_STATES, TicketState


@dataclass(frozen=True)
class ClockView:
    """One ticket as the SLA clock sees it."""

    code: str
    status: TicketState
    priority: Priority
    level: SupportLevel
    opened_at: datetime
    level_since: datetime
    chain: EscalationChain
    response_due: datetime | None = None
    response_warn_at: datetime | None = None
    resolution_due: datetime | None = None
    resolution_warn_at: datetime | None = None
    responded_at: datetime | None = None
    resolved_at: datetime | None = None
    done: frozenset[str] = frozenset()  # keys of the scheduled actions already recorded


@dataclass(frozen=True)
class ClockAction:
    code: str
    key: str  # unique per ticket: the action happens once
    kind: str  # the ticket event's kind
    due_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    escalate_to: SupportLevel | None = None  # the projection's new level, if any


def due_actions(view: ClockView, now: datetime) -> list[ClockAction]:
    """Every action due at `now` and not yet recorded, oldest first."""
    actions = [*_sla_actions(view), *_escalation(view), *_progress(view, now), *_followup(view)]
    return sorted(
        (a for a in actions if a.due_at <= now and a.key not in view.done),
        key=lambda a: (a.due_at, a.key),
    )


def next_due(view: ClockView, now: datetime, horizon: datetime) -> datetime | None:
    """The earliest pending action before `horizon` (for the executor's sleep), if any."""
    actions = [*_sla_actions(view), *_escalation(view), *_progress(view, horizon), *_followup(view)]
    pending = [a.due_at for a in actions if a.key not in view.done and a.due_at <= horizon]
    return min(pending, default=None)


def next_look(view: ClockView, now: datetime, horizon: timedelta) -> datetime | None:
    """When the clock must look at this ticket again: its next pending action, or `now + horizon`
    while anything can still fall due (an open ticket, a follow-up not yet recorded); None when
    nothing can without a change to the ticket (which marks it due again)."""
    until = now + horizon
    due = next_due(view, now, until)
    if due is not None:
        return due
    followup_pending = any(a.key not in view.done for a in _followup(view))
    return until if view.status in OPEN_STATES or followup_pending else None


def _sla_actions(view: ClockView) -> list[ClockAction]:
    is_open = view.status in OPEN_STATES
    resolved_at = None if is_open else view.resolved_at
    return [
        *_deadline(view, "response", view.response_warn_at, view.response_due, view.responded_at, is_open),
        *_deadline(view, "resolution", view.resolution_warn_at, view.resolution_due, resolved_at, is_open),
    ]


def _deadline(
    view: ClockView, target: str, warn_at: datetime | None, due: datetime | None, done: datetime | None, is_open: bool
) -> list[ClockAction]:
    """A warning only while it can still help; a breach whenever the target was missed, even if
    the clock learns it late (the work got done after the deadline while no leader ran)."""
    out = []
    if warn_at is not None and done is None and is_open:
        data = {"target": target, "due": due.isoformat() if due else None}
        out.append(ClockAction(view.code, f"{target}_warning", "sla_warning", warn_at, data))
    if due is not None and (done > due if done is not None else is_open):
        out.append(ClockAction(view.code, f"{target}_breach", "sla_breached", due, {"target": target}))
    return out


def _escalation(view: ClockView) -> list[ClockAction]:
    if view.status not in OPEN_STATES or view.status in PAUSED_STATES:
        return []
    due = view.level_since + view.chain.after(view.level)
    target = NEXT_LEVEL[view.level]
    waited = f"not resolved {_hours(view.chain.after(view.level))} after reaching {view.level}"
    if target is None:
        data = {"level": view.level.value, "notify": "duty_manager", "reason": waited}
        return [ClockAction(view.code, "emergency", "emergency_plan", due, data)]
    data = {"from": view.level.value, "to": target.value, "due_at": due.isoformat(), "reason": waited}
    return [ClockAction(view.code, f"escalate:{target}", "escalated", due, data, escalate_to=target)]


def _progress(view: ClockView, now: datetime) -> list[ClockAction]:
    if view.status not in OPEN_STATES or view.priority not in view.chain.progress_priorities:
        return []
    every = view.chain.progress_every
    count = int((now - view.opened_at) / every) if now > view.opened_at else 0
    return [
        ClockAction(view.code, f"progress:{n}", "progress_update_due", view.opened_at + n * every, {"number": n})
        for n in range(1, count + 1)
    ]


def followup_key(resolved_at: datetime) -> str:
    """The action key of the follow-up recorded for one resolution (POST /v1/tickets/{code}/followup)."""
    return f"followup_recorded:{resolved_at.isoformat()}"


def _followup(view: ClockView) -> list[ClockAction]:
    """Call the customer back `followup_after` the resolution; if nobody recorded the call by
    `followup_until`, tell the duty manager. A recorded follow-up ends both."""
    if view.status not in (TicketState.RESOLVED, TicketState.CLOSED) or view.resolved_at is None:
        return []
    if followup_key(view.resolved_at) in view.done:
        return []
    resolved = view.resolved_at.isoformat()
    due = view.resolved_at + view.chain.followup_after
    until = view.resolved_at + view.chain.followup_until
    data = {"resolved_at": resolved, "until": until.isoformat()}
    overdue = {
        "resolved_at": resolved,
        "notify": "duty_manager",
        "reason": f"no follow-up recorded {_hours(view.chain.followup_until)} after the resolution",
    }
    # Keyed by the resolution: a reopened and re-resolved ticket is followed up again.
    return [
        ClockAction(view.code, f"followup:{resolved}", "followup_due", due, data),
        ClockAction(view.code, f"followup_overdue:{resolved}", "followup_overdue", until, overdue),
    ]


def _hours(delta: Any) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g} h"
