"""Ticket API request and response bodies."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.domain.escalation import SupportLevel
from core.domain.text import StorableModel
from core.domain.ticket_states import TRANSITIONS, TicketState
from core.tickets.domain.lifecycle import ClockState, ticket_sla_state
from core.tickets.domain.model import Ticket, TicketEvent


class _Request(StorableModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TransitionRequest(_Request):
    to: TicketState
    note: str = Field(default="", max_length=5000)


class WorkKind(StrEnum):
    REMOTE = "remote"
    ONSITE = "onsite"
    NOTE = "note"


class WorklogRequest(_Request):
    note: str = Field(min_length=1, max_length=10_000)
    kind: WorkKind = WorkKind.NOTE
    minutes_spent: int = Field(default=0, ge=0, le=24 * 60)


class ResolutionRequest(_Request):
    root_cause: str = Field(min_length=3, max_length=5000)
    actions_taken: str = Field(min_length=3, max_length=10_000)


class ReassignRequest(_Request):
    assignee: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=5000)


class EscalateRequest(_Request):
    # The level the supervisor saw: a ticket that moved on meanwhile is not escalated twice.
    from_level: SupportLevel
    note: str = Field(min_length=3, max_length=5000)  # why: the next level reads it first


class FollowupOutcome(StrEnum):
    CONFIRMED = "confirmed"  # the customer confirms the fix holds
    REOPENED = "reopened"  # it does not: the ticket goes back to in_progress
    UNREACHABLE = "unreachable"  # nobody answered (seed 001: try again, then close)


class FollowupRequest(_Request):
    """The 24-72 h call or message after a resolution (seed 000: follow-up after resolution)."""

    outcome: FollowupOutcome
    note: str = Field(default="", max_length=5000)


class ReviewRequest(_Request):
    """A P1's post-incident review (seed 000: major incidents are reviewed before they are closed)."""

    summary: str = Field(min_length=10, max_length=10_000)  # what happened, to whom, for how long
    timeline: str = Field(min_length=10, max_length=20_000)
    root_cause: str = Field(min_length=3, max_length=5000)
    corrective_actions: list[str] = Field(min_length=1, max_length=50)  # what will stop it happening again
    document_url: str | None = Field(default=None, max_length=2000, pattern=r"^https://")  # the full write-up


class DuplicateRequest(_Request):
    """This ticket reports the same incident as `primary` (an alert and a hotline call about one outage)."""

    primary: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=2000)


class ComplaintRequest(_Request):
    """A customer's complaint about how their incident is handled, taken by an agent (or from the
    customer's status page)."""

    text: str = Field(min_length=3, max_length=10_000)


class CsatRequest(_Request):
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=5000)


class ClockView(BaseModel):
    target_minutes: float | None
    due: datetime | None
    done_at: datetime | None


class SlaView(BaseModel):
    policy: str
    calendar: str
    time_zone: str
    state: ClockState
    paused: bool
    response: ClockView
    resolution: ClockView


class TicketView(BaseModel):
    code: str
    status: TicketState
    allowed_transitions: list[TicketState]
    priority: str
    impact: str
    urgency: str
    team: str
    region: str | None
    channel: str
    subject: str
    description: str
    contact: dict[str, Any]
    customer_id: str | None
    contract_number: str | None
    asset_serial: str | None
    verification: dict[str, Any]
    received_site: str
    receiver: str
    event_time: datetime
    received_at: datetime
    updated_at: datetime | None
    sla: SlaView
    alert_fingerprint: str | None
    root_cause: str | None
    actions_taken: str | None
    csat_score: int | None
    csat_comment: str | None
    support_level: str
    assignee: str | None
    assigned_at: datetime | None
    emergency_at: datetime | None
    version: int

    @classmethod
    def of(cls, t: Ticket, now: datetime) -> TicketView:
        c = t.clock
        snap = c.snapshot

        def minutes(target: Any) -> float | None:
            return None if target is None else target.total_seconds() / 60

        return cls(
            **t.model_dump(include=set(cls.model_fields) - {"sla", "allowed_transitions", "contact", "verification"}),
            contact=t.contact.model_dump(mode="json", exclude_none=True),
            verification=t.verification.model_dump(mode="json"),
            allowed_transitions=sorted(TRANSITIONS[t.status]),
            sla=SlaView(
                policy=snap.policy,
                calendar=snap.calendar.name,
                time_zone=snap.calendar.timezone,
                state=ticket_sla_state(c, t.status, now),
                paused=any(p.end is None for p in c.pauses),
                response=ClockView(
                    target_minutes=minutes(snap.targets.response), due=c.response_due, done_at=c.responded_at
                ),
                resolution=ClockView(
                    target_minutes=minutes(snap.targets.resolution), due=c.resolution_due, done_at=c.resolved_at
                ),
            ),
        )


class TicketPage(BaseModel):
    items: list[TicketView]
    next_cursor: str | None


class EventView(BaseModel):
    seq: int
    kind: str
    actor: str
    at: datetime
    data: dict[str, Any]
    intake_id: str | None

    @classmethod
    def of(cls, e: TicketEvent) -> EventView:
        return cls(
            seq=e.seq,
            kind=e.kind,
            actor=e.actor,
            at=e.at,
            data=e.data,
            intake_id=str(e.intake_id) if e.intake_id else None,
        )
