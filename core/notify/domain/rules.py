"""Which ticket events tell whom, and what the message says. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict


class TicketEventMessage(BaseModel):
    """A `ticket.events.v1` record (schema_version 1), as the outbox publishes it."""

    model_config = ConfigDict(frozen=True)

    schema_version: int
    event_id: int
    ticket_code: str
    seq: int
    kind: str
    actor: str
    at: str
    data: dict[str, Any]


class ChatTarget(BaseModel):
    """Where a chat incident came from (the `created` event's `chat`): the reply goes back there."""

    model_config = ConfigDict(frozen=True)

    platform: str
    conversation: str | None = None
    user_id: str | None = None


@dataclass(frozen=True)
class Notice:
    recipient: str  # an agent id (resolved to their e-mail), an e-mail address, or "<platform>:<user>"
    subject: str
    body: str
    chat: ChatTarget | None = None  # set: sent on that chat platform, not by mail
    to_customer: bool = False  # a customer's (capped per address: the portal takes anyone's address)


def notices(event: TicketEventMessage, duty_manager: str, servicedesk_manager: str = "") -> list[Notice]:
    d, code = event.data, event.ticket_code
    if event.kind == "complaint" and servicedesk_manager:
        about = f"{code} ({d.get('priority')}, {d.get('status')})"
        text = f"{about}: complaint recorded by {event.actor}:\n\n{d.get('text', '')}"
        return [Notice(servicedesk_manager, f"[{code}] COMPLAINT", text)]
    if event.kind == "assigned":
        why = d.get("reason", "")
        return [Notice(str(d["agent"]), f"[{code}] assigned to you", f"{code} is yours: {why}.")]
    if event.kind == "escalated":
        text = f"{code} escalated {d.get('from')} -> {d.get('to')}: {d.get('reason', '')}."
        return [Notice(duty_manager, f"[{code}] escalated to {d.get('to')}", text)]
    if event.kind == "emergency_plan":
        text = f"{code} is still open at L3: {d.get('reason', '')}. The emergency plan applies: call the customer."
        return [Notice(duty_manager, f"[{code}] EMERGENCY PLAN", text)]
    if event.kind == "followup_due":
        text = (
            f"{code} was resolved at {d.get('resolved_at')}: call the customer back and record the follow-up "
            f"by {d.get('until')}."
        )
        return [Notice(duty_manager, f"[{code}] follow-up due", text)]
    if event.kind == "followup_overdue":
        text = f"{code}: {d.get('reason', 'no follow-up recorded')}. Call the customer and record it."
        return [Notice(duty_manager, f"[{code}] follow-up overdue", text)]
    if event.kind == "sla_breached":
        text = f"{code} breached its {d.get('target')} target (due {d.get('due_at')})."
        return [Notice(duty_manager, f"[{code}] {d.get('target')} SLA breached", text)]
    return []
