"""What applying one intake event means, decided on a snapshot. Pure: no I/O.

The consumer looks up the reference rows and the current ticket, calls one of these, and
writes what they return in one transaction (see core.tickets.store.repository).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.domain.escalation import EscalationChain
from core.domain.priority import Impact, Priority, PriorityPolicy, Urgency, assess
from core.domain.routing import route
from core.domain.sla import (
    DEFAULT_TARGETS,
    SlaOverride,
    SlaPolicy,
    SlaTargets,
    snapshot,
    targets_for,
    twenty_four_seven,
    vietnam_business_hours,
)
from core.domain.ticket_states import OPEN_STATES, TicketState
from core.domain.verification import AssetRef, ContractRef, CustomerRef, verify
from core.intake.domain.schemas import IntakeEvent
from core.tickets.domain.lifecycle import change_state, new_clock
from core.tickets.domain.model import EventDraft, SlaClock, Ticket

CalendarKind = Literal["24x7", "business_hours"]


class Policies(BaseModel):
    """Ticket policies; defaults follow the seeds (P1 15 min / 4 h ...)."""

    model_config = ConfigDict(frozen=True)

    priority: PriorityPolicy = Field(default_factory=PriorityPolicy)
    targets: dict[Priority, SlaTargets] = Field(default_factory=lambda: dict(DEFAULT_TARGETS))
    warn_at: float = Field(default=0.8, gt=0, lt=1)
    default_calendar: CalendarKind = "business_hours"  # for intakes without a contract
    default_time_zone: str = "Asia/Ho_Chi_Minh"
    auto_resolve_alerts: bool = True
    escalation: EscalationChain = Field(default_factory=EscalationChain)
    sla_overrides: tuple[SlaOverride, ...] = ()  # targets per contract tier and region


def sla_policy(
    policies: Policies,
    calendar: CalendarKind,
    time_zone: str,
    year: int,
    tier: str | None = None,
    region: str | None = None,
) -> SlaPolicy:
    # The holiday list covers this year and the next: a 48 h target can cross the new year.
    cal = twenty_four_seven(time_zone) if calendar == "24x7" else vietnam_business_hours([year, year + 1], time_zone)
    targets, applied = targets_for(policies.targets, policies.sla_overrides, tier, region)
    name = "/".join([calendar, time_zone, *applied])
    return SlaPolicy(name=name, calendar=cal, targets=targets, warn_at=policies.warn_at)


def open_ticket(
    event: IntakeEvent,
    *,
    customer: CustomerRef | None,
    contract: ContractRef | None,
    asset: AssetRef | None,
    policies: Policies,
) -> tuple[Ticket, EventDraft]:
    opened_at = event.received_at  # the clock starts when we had it, not when the sender says
    verification = verify(
        today=opened_at.date(),
        customer_id=event.customer_id,
        contract_number=event.contract_number,
        asset_serial=event.asset_serial,
        customer=customer,
        contract=contract,
        asset=asset,
    )
    text = f"{event.subject}\n{event.description}"
    impact, urgency = event.impact or Impact.MEDIUM, event.urgency or Urgency.MEDIUM
    decision = assess(
        policies.priority,
        impact,
        urgency,
        alert_severity=event.alert.severity if event.alert else None,
        text=text,
        contract_tier=verification.tier,
    )
    routing = route(
        category=event.category,
        text=text,
        asset_category=asset.category if asset else None,
        region=event.region,
        location=event.location or (asset.location if asset else None),
        asset_region=asset.region if asset else None,
        customer_region=customer.region if customer else None,
    )
    calendar: CalendarKind = policies.default_calendar
    if contract is not None and verification.contract.value == "active":
        calendar = "24x7" if contract.calendar == "24x7" else "business_hours"
    zone = customer.time_zone if customer else policies.default_time_zone
    region = routing.region.value if routing.region else None
    policy = sla_policy(policies, calendar, zone, opened_at.year, verification.tier, region)
    snap = snapshot(policy, decision.priority, opened_at)
    clock = new_clock(snap)
    ticket = Ticket(
        code=event.ticket_code,
        intake_id=event.intake_id,
        channel=event.channel.value,
        status=TicketState.NEW,
        priority=decision.priority,
        impact=impact.value,
        urgency=urgency.value,
        team=routing.team.value,
        region=routing.region.value if routing.region else None,
        customer_id=verification.customer_id,
        contract_number=verification.contract_number,
        asset_serial=event.asset_serial,
        verification=verification,
        subject=event.subject or event.description[:120] or f"{event.channel} intake",
        description=event.description,
        contact=event.contact,
        received_site=event.received_site,
        receiver=event.receiver,
        event_time=event.event_time,
        received_at=event.received_at,
        alert_fingerprint=event.alert.fingerprint if event.alert else None,
        clock=clock,
        escalation=policies.escalation,
    )
    created = EventDraft(
        kind="created",
        actor=event.receiver,
        at=event.received_at,
        data={
            "channel": event.channel.value,
            "received_site": event.received_site,
            "event_time": event.event_time.isoformat(),
            "priority": decision.priority.value,
            "priority_reasons": list(decision.reasons),
            "team": routing.team.value,
            "region": ticket.region,
            "routing_reasons": list(routing.reasons),
            "verification": verification.model_dump(mode="json"),
            "sla_policy": snap.policy,
            "attachments": [a.model_dump(mode="json") for a in event.attachments],
            # Where a chat incident came from: the notifier answers the customer there (core.notify).
            "chat": event.chat.model_dump(mode="json") if event.chat else None,
        },
    )
    return ticket, created


@dataclass(frozen=True)
class Followup:
    """What an intake that appends to an existing ticket changes."""

    events: list[EventDraft]
    status: TicketState | None = None
    clock: SlaClock | None = None
    fields: dict[str, str] = field(default_factory=dict)


def from_the_contact(ticket: Ticket, event: IntakeEvent) -> bool:
    """The reply comes from the address the ticket was opened with (case-insensitive). Anyone can
    write a ticket code in a subject; only the customer's own mail moves the ticket."""
    ours, theirs = ticket.contact.email, event.contact.email
    return bool(ours and theirs) and str(ours).casefold() == str(theirs).casefold()


def on_reply(ticket: Ticket, event: IntakeEvent) -> Followup:
    """A customer's reply: appended; it ends a wait on the customer. A reply from another address is
    kept for the engineer to see (`reply_unverified`) and changes nothing."""
    verified = from_the_contact(ticket, event)
    note = EventDraft(
        kind="customer_replied" if verified else "reply_unverified",
        actor=f"customer:{event.contact.email or event.contact.handle or event.contact.phone or 'unknown'}",
        at=event.received_at,
        data={
            "channel": event.channel.value,
            "subject": event.subject,
            "text": event.description,
            "attachments": [a.model_dump(mode="json") for a in event.attachments],
        },
    )
    if not verified or ticket.status is not TicketState.PENDING_CUSTOMER:
        return Followup([note])
    clock = change_state(ticket.clock, ticket.status, TicketState.IN_PROGRESS, event.received_at)
    moved = _status_event(ticket.status, TicketState.IN_PROGRESS, "system", event, "the customer replied")
    return Followup([note, moved], TicketState.IN_PROGRESS, clock)


AUTO_ACTIONS = "none by the desk: the alert cleared before anyone acted"


def on_alert_resolved(ticket: Ticket, event: IntakeEvent, policies: Policies) -> Followup:
    """The alert behind the ticket cleared: noted, and the ticket resolved if still open."""
    ends = event.alert.ends_at.isoformat() if event.alert and event.alert.ends_at else None
    note = EventDraft(
        kind="alert_resolved", actor="system", at=event.received_at, data={"channel": event.channel, "ends_at": ends}
    )
    # A ticket with a technician dispatched is the desk's to resolve: the visit ends first.
    if (
        not policies.auto_resolve_alerts
        or ticket.status not in OPEN_STATES
        or ticket.status is TicketState.DISPATCHED_ONSITE
    ):
        return Followup([note])
    clock = change_state(ticket.clock, ticket.status, TicketState.RESOLVED, event.received_at)
    cause = "the monitoring alert cleared on its own (auto-resolved)"
    moved = _status_event(ticket.status, TicketState.RESOLVED, "system", event, cause)
    return Followup([note, moved], TicketState.RESOLVED, clock, {"root_cause": cause, "actions_taken": AUTO_ACTIONS})


def _status_event(current: TicketState, target: TicketState, actor: str, event: IntakeEvent, note: str) -> EventDraft:
    return EventDraft(
        kind="status_changed",
        actor=actor,
        at=event.received_at,
        data={"from": current.value, "to": target.value, "note": note},
    )
