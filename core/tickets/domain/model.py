"""The ticket projection and the events that build it. Pure data: no I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from core.domain.escalation import EscalationChain, SupportLevel
from core.domain.priority import Priority
from core.domain.sla import Pause, SlaSnapshot
from core.domain.ticket_states import TicketState
from core.domain.verification import Verification
from core.intake.domain.schemas import Contact


class SlaClock(BaseModel):
    """The SLA part of a ticket: snapshot, pauses and the derived deadlines."""

    model_config = ConfigDict(frozen=True)

    snapshot: SlaSnapshot
    pauses: tuple[Pause, ...] = ()
    response_due: datetime | None
    response_warn_at: datetime | None
    resolution_due: datetime | None
    resolution_warn_at: datetime | None
    responded_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None


class Ticket(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    intake_id: UUID
    channel: str
    status: TicketState
    priority: Priority
    impact: str
    urgency: str
    team: str
    region: str | None
    customer_id: str | None
    contract_number: str | None
    asset_serial: str | None
    verification: Verification
    subject: str
    description: str
    contact: Contact
    received_site: str
    receiver: str
    event_time: datetime
    received_at: datetime
    alert_fingerprint: str | None = None
    clock: SlaClock
    root_cause: str | None = None
    actions_taken: str | None = None
    csat_score: int | None = None
    csat_comment: str | None = None
    support_level: SupportLevel = SupportLevel.L1
    level_since: datetime | None = None  # None: since it was opened
    escalation: EscalationChain = Field(default_factory=EscalationChain)  # the chain in force when opened
    emergency_at: datetime | None = None
    assignee: str | None = None
    assigned_at: datetime | None = None
    version: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None


class EventDraft(BaseModel):
    """An event about to be appended (the repository numbers it)."""

    model_config = ConfigDict(frozen=True)

    kind: str
    actor: str
    at: datetime
    data: dict[str, Any] = Field(default_factory=dict)  # JSON payload of the event, by kind
    # Unique per ticket when set (the SLA clock's scheduled actions, a recorded follow-up): the
    # event happens once, whoever writes it and however often it is retried.
    action_key: str | None = None


class TicketEvent(EventDraft):
    ticket_code: str
    seq: int
    intake_id: UUID | None = None
