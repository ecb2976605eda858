"""What the customer hears, and what they never do."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.domain.ticket_states import TicketState
from core.notify.domain.customer import CustomerView, customer_notices
from core.notify.domain.rules import ChatTarget, TicketEventMessage

CODE = "INC-2026-1207-0001"
LINK = "https://desk.example.vn/status/INC-2026-1207-0001?k=tag"
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def view(**overrides: Any) -> CustomerView:
    fields: dict[str, Any] = {
        "code": CODE,
        "subject": "Máy chủ DB01 không phản hồi",
        "status": TicketState.NEW,
        "priority": "P1",
        "email": "an.nguyen@songhong.example",
        "response_due": datetime(2026, 12, 7, 1, 15, tzinfo=UTC),
        "resolution_due": datetime(2026, 12, 7, 5, 0, tzinfo=UTC),
        "root_cause": None,
        "actions_taken": None,
    }
    return CustomerView(**{**fields, **overrides})


def event(kind: str, **data: Any) -> TicketEventMessage:
    return TicketEventMessage(
        schema_version=1,
        event_id=7,
        ticket_code=CODE,
        seq=1,
        kind=kind,
        actor="x",
        at="2026-12-07T01:00:00Z",
        data=data,
    )


def test_the_acknowledgement_gives_the_code_priority_due_times_in_local_time_and_the_link() -> None:
    [notice] = customer_notices(event("created"), view(), LINK, HANOI)
    assert notice.recipient == "an.nguyen@songhong.example"
    assert notice.subject.startswith(f"[{CODE}] ")  # a reply threads onto the ticket
    assert notice.subject == f"[{CODE}] Đã tiếp nhận / Received"  # no text the sender typed
    assert f"Incident code: {CODE}" in notice.body and "Priority: P1" in notice.body
    # 01:15 and 05:00 UTC are 08:15 and 12:00 in Hà Nội.
    assert "2026-12-07 08:15 (UTC+07:00)" in notice.body and "2026-12-07 12:00 (UTC+07:00)" in notice.body
    assert LINK in notice.body


def test_no_address_no_mail() -> None:
    assert customer_notices(event("created"), view(email=None), LINK, HANOI) == []


def test_internal_events_are_never_told() -> None:
    for kind, data in [
        ("worklog", {"text": "rebooted DB01, disk 3 failing"}),
        ("assigned", {"agent": "l1.an"}),
        ("escalated", {"from": "L1", "to": "L2"}),
        ("sla_breached", {"target": "response"}),
    ]:
        assert customer_notices(event(kind, **data), view(), LINK, HANOI) == [], kind


def test_the_resolution_tells_the_root_cause_and_asks_for_a_rating() -> None:
    resolved = view(status=TicketState.RESOLVED, root_cause="RAID controller firmware", actions_taken="firmware 7.2")
    [notice] = customer_notices(
        event("status_changed", to="resolved", **{"from": "in_progress"}), resolved, LINK, HANOI
    )
    assert "Resolved" in notice.subject
    assert "Root cause: RAID controller firmware" in notice.body and "What we did: firmware 7.2" in notice.body
    assert "rate our service (1-5)" in notice.body and LINK in notice.body


def test_a_reopen_and_the_steps_the_customer_sees_are_told_but_closing_is_not() -> None:
    reopened = customer_notices(event("status_changed", to="in_progress", **{"from": "resolved"}), view(), LINK, HANOI)
    assert "Reopened" in reopened[0].subject
    waiting = customer_notices(
        event("status_changed", to="pending_customer", **{"from": "in_progress"}), view(), LINK, HANOI
    )
    assert "please reply to this mail" in waiting[0].body
    closed = customer_notices(event("status_changed", to="closed", **{"from": "resolved"}), view(), LINK, HANOI)
    assert closed == []


def test_a_progress_update_goes_out_while_open_and_not_after_the_resolution() -> None:
    [update] = customer_notices(
        event("progress_update_due", number=1), view(status=TicketState.IN_PROGRESS), LINK, HANOI
    )
    assert (
        "Progress update" in update.subject
        and "is in progress" in update.body
        and "Next update in 2 hours" in update.body
    )
    late = customer_notices(event("progress_update_due", number=2), view(status=TicketState.RESOLVED), LINK, HANOI)
    assert late == []


def test_a_chat_customer_without_an_address_is_answered_on_the_platform_they_wrote_from() -> None:
    slack = ChatTarget(platform="slack", conversation="C024BE91L", user_id="U2147483697")
    [notice] = customer_notices(event("created"), view(email=None, chat=slack), LINK, HANOI)
    assert notice.chat == slack and notice.recipient == "slack:U2147483697"
    assert notice.subject.startswith(f"[{CODE}] ") and LINK in notice.body
    with_address = customer_notices(event("created"), view(chat=slack), LINK, HANOI)
    assert with_address[0].chat is None  # an e-mail address is preferred: mail keeps the whole text
    teams = ChatTarget(platform="teams", conversation="19:abc", user_id="29:x")
    assert customer_notices(event("created"), view(email=None, chat=teams), LINK, HANOI)[0].chat == teams
    walk_in = ChatTarget(platform="viber", conversation="c", user_id="u")  # no platform we answer on
    assert customer_notices(event("created"), view(email=None, chat=walk_in), LINK, HANOI) == []


def test_a_dispatch_tells_when_the_technician_is_expected_in_local_time() -> None:
    data = {"from": "in_progress", "to": "dispatched_onsite", "eta": "2026-12-07T03:40:00+00:00"}
    [notice] = customer_notices(event("status_changed", **data), view(), LINK, HANOI)
    assert "A technician is being sent to your site." in notice.body
    assert "Expected on site: 2026-12-07 10:40 (UTC+07:00)." in notice.body
