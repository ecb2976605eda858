"""Opening a ticket, replies, resolved alerts and SLA clock changes, decided on snapshots."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.domain.priority import Impact, Priority, Urgency
from core.domain.sla import SlaOverride, SlaTargets
from core.domain.ticket_states import InvalidTransition, TicketState
from core.domain.verification import ContractRef, CustomerRef
from core.intake.domain.schemas import AlertInfo, Channel, Contact, IntakeEvent, IntakeKind
from core.tickets.domain.lifecycle import ClockState, change_state, ticket_sla_state
from core.tickets.domain.model import Ticket
from core.tickets.domain.planning import Policies, on_alert_resolved, on_reply, open_ticket

S = TicketState
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 08:00 in Hanoi
CUSTOMER = CustomerRef(id="C1", name="n", time_zone="Asia/Ho_Chi_Minh", region="north")
CONTRACT_24X7 = ContractRef(
    number="K1",
    customer_id="C1",
    tier="platinum",
    starts_on=date(2025, 1, 1),
    ends_on=date(2030, 1, 1),
    calendar="24x7",
)


def _event(**kw: object) -> IntakeEvent:
    base: dict[str, object] = {
        "channel": Channel.PORTAL,
        "intake_id": uuid.uuid4(),
        "ticket_code": "INC-0000-0000-0001",
        "received_at": T0,
        "event_time": T0,
        "received_site": "a",
        "receiver": "system",
        "contact": Contact(email="x@example.vn"),
        "subject": "switch lỗi",
        "impact": Impact.MEDIUM,
        "urgency": Urgency.MEDIUM,
    }
    return IntakeEvent(**(base | kw))


def test_contract_tier_and_calendar_shape_the_ticket() -> None:
    ticket, created = open_ticket(_event(), customer=CUSTOMER, contract=CONTRACT_24X7, asset=None, policies=Policies())
    assert ticket.priority == "P2"  # matrix P3, raised one level by platinum
    assert ticket.clock.snapshot.calendar.always_open
    assert ticket.clock.response_due == T0 + timedelta(minutes=30)
    assert ticket.clock.resolution_due == T0 + timedelta(hours=8)
    assert ticket.region == "north" and created.kind == "created"
    assert any("platinum" in r for r in created.data["priority_reasons"])


def test_without_a_contract_business_hours_apply() -> None:
    friday_evening = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # 17:00 Friday in Hanoi
    ticket, _ = open_ticket(
        _event(received_at=friday_evening), customer=None, contract=None, asset=None, policies=Policies()
    )
    assert ticket.priority == "P3"
    # 30 min open on Friday, then Saturday 08:00-12:00 local: 4 h response lands at Sat 11:30 local.
    assert ticket.clock.response_due == datetime(2026, 11, 28, 4, 30, tzinfo=UTC)


def test_critical_alert_is_p1() -> None:
    alert = AlertInfo(source="alertmanager", fingerprint="f", status="firing", severity="critical", starts_at=T0)
    ticket, _ = open_ticket(
        _event(channel=Channel.ALERTMANAGER, alert=alert), customer=None, contract=None, asset=None, policies=Policies()
    )
    assert ticket.priority == "P1" and ticket.alert_fingerprint == "f"


def _open() -> Ticket:
    ticket, _ = open_ticket(_event(), customer=CUSTOMER, contract=CONTRACT_24X7, asset=None, policies=Policies())
    return ticket


def test_reply_resumes_a_ticket_waiting_on_the_customer() -> None:
    ticket = _open()
    clock = change_state(ticket.clock, S.NEW, S.ACKNOWLEDGED, T0 + timedelta(minutes=5))
    clock = change_state(clock, S.ACKNOWLEDGED, S.PENDING_CUSTOMER, T0 + timedelta(hours=1))
    waiting = ticket.model_copy(update={"status": S.PENDING_CUSTOMER, "clock": clock})
    reply = _event(kind=IntakeKind.REPLY, received_at=T0 + timedelta(hours=3))
    follow = on_reply(waiting, reply)
    assert follow.status is S.IN_PROGRESS
    assert [e.kind for e in follow.events] == ["customer_replied", "status_changed"]
    assert follow.clock is not None and ticket.clock.resolution_due is not None
    assert follow.clock.resolution_due == ticket.clock.resolution_due + timedelta(hours=2)  # paused 2 h
    assert on_reply(ticket, reply).status is None  # not waiting: only noted


def test_a_reply_from_another_address_is_kept_but_moves_nothing() -> None:
    ticket = _open()
    clock = change_state(ticket.clock, S.NEW, S.ACKNOWLEDGED, T0 + timedelta(minutes=5))
    clock = change_state(clock, S.ACKNOWLEDGED, S.PENDING_CUSTOMER, T0 + timedelta(hours=1))
    waiting = ticket.model_copy(update={"status": S.PENDING_CUSTOMER, "clock": clock})
    stranger = _event(
        kind=IntakeKind.REPLY, received_at=T0 + timedelta(hours=3), contact=Contact(email="x@evil.example")
    )
    follow = on_reply(waiting, stranger)
    assert follow.status is None and follow.clock is None
    assert [e.kind for e in follow.events] == ["reply_unverified"]
    same_person = _event(
        kind=IntakeKind.REPLY, received_at=T0 + timedelta(hours=3), contact=Contact(email="X@Example.VN")
    )
    assert on_reply(waiting, same_person).status is S.IN_PROGRESS  # addresses compare case-insensitively


def test_resolved_alert_resolves_open_tickets_only() -> None:
    ticket = _open()
    cleared = _event(kind=IntakeKind.ALERT_RESOLVED, received_at=T0 + timedelta(minutes=9))
    follow = on_alert_resolved(ticket, cleared, Policies())
    assert follow.status is S.RESOLVED and follow.fields["root_cause"] and follow.fields["actions_taken"]
    closed = ticket.model_copy(update={"status": S.CLOSED})
    assert on_alert_resolved(closed, cleared, Policies()).status is None
    on_site = ticket.model_copy(update={"status": S.DISPATCHED_ONSITE})  # the visit ends first
    assert on_alert_resolved(on_site, cleared, Policies()).status is None
    assert on_alert_resolved(ticket, cleared, Policies(auto_resolve_alerts=False)).status is None


def test_change_state_stamps_and_refuses() -> None:
    ticket = _open()
    with pytest.raises(InvalidTransition):
        change_state(ticket.clock, S.NEW, S.CLOSED, T0)
    acked = change_state(ticket.clock, S.NEW, S.ACKNOWLEDGED, T0 + timedelta(minutes=1))
    assert acked.responded_at == T0 + timedelta(minutes=1)
    resolved = change_state(acked, S.ACKNOWLEDGED, S.RESOLVED, T0 + timedelta(hours=1))
    reopened = change_state(resolved, S.RESOLVED, S.IN_PROGRESS, T0 + timedelta(hours=2))
    assert resolved.resolved_at is not None and reopened.resolved_at is None


@given(minutes=st.integers(0, 60 * 24))
def test_sla_state_follows_the_clock(minutes: int) -> None:
    ticket = _open()  # P2 24x7: response 30 min (warn 24), resolution 8 h (warn 6.4 h)
    now = T0 + timedelta(minutes=minutes)
    state = ticket_sla_state(ticket.clock, S.NEW, now)
    if minutes > 30:
        assert state is ClockState.BREACHED
    elif minutes > 24:
        assert state is ClockState.WARNING
    else:
        assert state is ClockState.ON_TRACK


PLATINUM_P2 = SlaOverride(
    tier="platinum", targets={Priority.P2: SlaTargets(response=timedelta(minutes=15), resolution=timedelta(hours=4))}
)
NORTH_P2 = SlaOverride(
    region="north", targets={Priority.P2: SlaTargets(response=timedelta(minutes=20), resolution=timedelta(hours=6))}
)
PLATINUM_NORTH_P2 = SlaOverride(
    tier="platinum",
    region="north",
    targets={Priority.P2: SlaTargets(response=timedelta(minutes=5), resolution=timedelta(hours=2))},
)


def test_a_tiers_targets_are_snapshotted_onto_the_ticket_and_named_in_its_policy() -> None:
    policies = Policies(sla_overrides=(PLATINUM_P2,))
    ticket, created = open_ticket(_event(), customer=CUSTOMER, contract=CONTRACT_24X7, asset=None, policies=policies)
    assert ticket.priority == "P2"
    assert ticket.clock.response_due == T0 + timedelta(minutes=15)
    assert ticket.clock.resolution_due == T0 + timedelta(hours=4)
    assert created.data["sla_policy"] == "24x7/Asia/Ho_Chi_Minh/platinum"


def test_the_most_specific_override_wins_and_others_do_not_apply() -> None:
    policies = Policies(sla_overrides=(PLATINUM_NORTH_P2, NORTH_P2, PLATINUM_P2))
    ticket, created = open_ticket(_event(), customer=CUSTOMER, contract=CONTRACT_24X7, asset=None, policies=policies)
    assert ticket.clock.resolution_due == T0 + timedelta(hours=2)  # tier and region, over each alone
    assert created.data["sla_policy"] == "24x7/Asia/Ho_Chi_Minh/north/platinum/platinum+north"
    south = CustomerRef(id="C1", name="n", time_zone="Asia/Ho_Chi_Minh", region="south")
    ticket, _ = open_ticket(_event(), customer=south, contract=CONTRACT_24X7, asset=None, policies=policies)
    assert ticket.clock.resolution_due == T0 + timedelta(hours=4)  # the tier's only


def test_an_override_must_name_a_tier_or_a_region() -> None:
    with pytest.raises(ValueError, match="names a tier, a region or both"):
        SlaOverride(targets={Priority.P1: SlaTargets(response=timedelta(minutes=5), resolution=None)})
