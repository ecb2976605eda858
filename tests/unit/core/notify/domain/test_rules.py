"""Which ticket events notify whom, and the `ticket.events.v1` record they arrive in."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from core.domain.escalation import EscalationChain, SupportLevel
from core.domain.priority import Priority
from core.domain.ticket_states import TicketState
from core.notify.domain.rules import Notice, TicketEventMessage, notices
from core.tickets.domain.sla_clock import ClockView, due_actions

CODE = "INC-2026-0302-0001"
DUTY = "duty.manager@example.com"
AT = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def record(**overrides: Any) -> dict[str, Any]:
    """A record as core.tickets.kafka.outbox publishes it."""
    fields: dict[str, Any] = {
        "schema_version": 1,
        "event_id": 42,
        "ticket_code": CODE,
        "seq": 3,
        "kind": "state_changed",
        "actor": "sla-clock@a",
        "at": AT.isoformat(),
        "data": {},
        "intake_id": None,
    }
    fields.update(overrides)
    return fields


def event(kind: str, **data: Any) -> TicketEventMessage:
    return TicketEventMessage.model_validate_json(json.dumps(record(kind=kind, data=data)))


# --- the record -------------------------------------------------------------------------------


def test_a_published_record_is_read_back() -> None:
    message = TicketEventMessage.model_validate_json(json.dumps(record(data={"agent": "an"})).encode())
    assert message == TicketEventMessage(
        schema_version=1,
        event_id=42,
        ticket_code=CODE,
        seq=3,
        kind="state_changed",
        actor="sla-clock@a",
        at=AT.isoformat(),
        data={"agent": "an"},
    )


def test_a_record_with_an_intake_id_is_read_too() -> None:
    intake = "2f1f8a52-3e4b-4c1e-9a55-0d3d1a7c2b10"
    assert TicketEventMessage.model_validate(record(intake_id=intake)).ticket_code == CODE


def test_a_message_is_frozen() -> None:
    message = TicketEventMessage.model_validate(record())
    with pytest.raises(ValidationError):
        message.kind = "assigned"  # type: ignore[misc]


@pytest.mark.parametrize("missing", ["schema_version", "event_id", "ticket_code", "seq", "kind", "actor", "at", "data"])
def test_every_field_is_required(missing: str) -> None:
    fields = record()
    del fields[missing]
    with pytest.raises(ValidationError, match=missing):
        TicketEventMessage.model_validate(fields)


@pytest.mark.parametrize(
    ("field", "value"),
    [("seq", "third"), ("event_id", None), ("data", ["not", "an", "object"]), ("ticket_code", None)],
)
def test_badly_typed_fields_are_refused(field: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=field):
        TicketEventMessage.model_validate(record(**{field: value}))


def test_malformed_json_is_refused() -> None:
    with pytest.raises(ValidationError):
        TicketEventMessage.model_validate_json(b"{not json")


# --- who is told what -------------------------------------------------------------------------


def test_assigned_tells_the_agent() -> None:
    assigned = event("assigned", agent="binh", previous=None, reason="new ticket: on duty for network/north/L1")
    assert notices(assigned, DUTY) == [
        Notice("binh", f"[{CODE}] assigned to you", f"{CODE} is yours: new ticket: on duty for network/north/L1.")
    ]


def test_escalated_tells_the_duty_manager() -> None:
    escalated = event("escalated", **{"from": "L1", "to": "L2", "reason": "not resolved 1 h after reaching L1"})
    assert notices(escalated, DUTY) == [
        Notice(DUTY, f"[{CODE}] escalated to L2", f"{CODE} escalated L1 -> L2: not resolved 1 h after reaching L1.")
    ]


def test_the_emergency_plan_tells_the_duty_manager() -> None:
    emergency = event("emergency_plan", level="L3", notify="duty_manager", reason="not resolved 2 h after reaching L3")
    [notice] = notices(emergency, DUTY)
    assert (notice.recipient, notice.subject) == (DUTY, f"[{CODE}] EMERGENCY PLAN")
    assert notice.body == (
        f"{CODE} is still open at L3: not resolved 2 h after reaching L3."
        " The emergency plan applies: call the customer."
    )


def test_a_breach_tells_the_duty_manager() -> None:
    breached = event("sla_breached", target="resolution", due_at="2026-03-02T02:00:00+00:00")
    assert notices(breached, DUTY) == [
        Notice(
            DUTY,
            f"[{CODE}] resolution SLA breached",
            f"{CODE} breached its resolution target (due 2026-03-02T02:00:00+00:00).",
        )
    ]


@pytest.mark.parametrize(
    "kind",
    ["created", "state_changed", "sla_warning", "progress_update_due", "reply", "ASSIGNED", ""],
)
def test_other_kinds_tell_nobody(kind: str) -> None:
    assert notices(event(kind, agent="binh", target="response", reason="x"), DUTY) == []


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("assigned", {"agent": "binh"}),
        ("escalated", {"from": "L2", "to": "L3"}),
        ("emergency_plan", {}),
        ("sla_breached", {"target": "response"}),
    ],
)
def test_the_subject_names_the_ticket(kind: str, data: dict[str, Any]) -> None:
    [notice] = notices(event(kind, **data), DUTY)
    assert notice.subject.startswith(f"[{CODE}] ")
    assert CODE in notice.body


def test_notices_of_what_the_sla_clock_records_are_complete() -> None:
    """Each clock action's data, as core.tickets.store.clock_store records it (with its due time),
    fills every placeholder of its notice."""
    view = ClockView(
        code=CODE,
        status=TicketState.IN_PROGRESS,
        priority=Priority.P1,
        level=SupportLevel.L1,
        opened_at=AT,
        level_since=AT,
        chain=EscalationChain(),
        response_due=AT + timedelta(minutes=15),
        resolution_due=AT + timedelta(hours=4),
    )
    recorded: list[TicketEventMessage] = []
    for _ in range(3):  # L1 -> L2 -> L3 -> emergency plan
        for action in due_actions(view, AT + timedelta(hours=6)):
            data = {**action.data, "due_at": action.due_at.isoformat()}
            recorded.append(event(action.kind, **data))
            view = dataclasses.replace(view, done=view.done | {action.key})
            if action.escalate_to is not None:
                view = dataclasses.replace(view, level=action.escalate_to, level_since=action.due_at)
    told = [n for e in recorded for n in notices(e, DUTY)]
    assert sorted(n.subject for n in told) == [
        f"[{CODE}] EMERGENCY PLAN",
        f"[{CODE}] escalated to L2",
        f"[{CODE}] escalated to L3",
        f"[{CODE}] resolution SLA breached",
        f"[{CODE}] response SLA breached",
    ]
    assert all(n.recipient == DUTY for n in told)
    assert not any("None" in n.subject + n.body for n in told)


def test_a_follow_up_due_and_one_overdue_go_to_the_duty_manager() -> None:
    (due,) = notices(
        event("followup_due", resolved_at="2026-12-01T08:00:00+00:00", until="2026-12-04T08:00:00+00:00"), DUTY
    )
    assert due.recipient == DUTY and "follow-up due" in due.subject and "2026-12-04T08:00:00+00:00" in due.body
    (overdue,) = notices(event("followup_overdue", reason="no follow-up recorded 72 h after the resolution"), DUTY)
    assert overdue.recipient == DUTY and "overdue" in overdue.subject and "72 h" in overdue.body


def test_a_complaint_goes_to_the_servicedesk_manager_with_its_text() -> None:
    complaint = event("complaint", text="Chờ 3 giờ chưa ai gọi lại", status="in_progress", priority="P2")
    [notice] = notices(complaint, DUTY, "sd.manager@example.com")
    assert notice.recipient == "sd.manager@example.com" and "COMPLAINT" in notice.subject
    assert "Chờ 3 giờ chưa ai gọi lại" in notice.body and "P2" in notice.body
