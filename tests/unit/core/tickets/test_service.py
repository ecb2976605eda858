"""The ticket use cases on an in-memory store: what each operation writes, what it refuses, and
that a refusal writes nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TypeVar

import pytest

from core.domain.escalation import SupportLevel
from core.domain.priority import Priority
from core.domain.ticket_states import TicketState
from core.errors import Conflict, InvalidInput, NotFound
from core.intake.domain.codes import ticket_code_for
from core.tickets.domain.model import Ticket
from core.tickets.domain.sla_clock import followup_key
from core.tickets.http.schemas import (
    ComplaintRequest,
    CsatRequest,
    DuplicateRequest,
    EscalateRequest,
    FollowupOutcome,
    FollowupRequest,
    ReassignRequest,
    ResolutionRequest,
    ReviewRequest,
    TransitionRequest,
    WorklogRequest,
)
from core.tickets.service import TicketService
from tests.fakes import MemoryTicketStore, opened_ticket

S = TicketState
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
T = TypeVar("T")


def run(aw: Awaitable[T]) -> T:
    async def main() -> T:
        return await aw

    return asyncio.run(main())


def _ticket() -> Ticket:
    return opened_ticket(T0)[0]


def _service() -> tuple[TicketService, MemoryTicketStore, Ticket]:
    ticket = _ticket()
    store = MemoryTicketStore([ticket])
    return TicketService(store), store, ticket


def test_an_allowed_transition_moves_the_ticket_and_records_who_and_why() -> None:
    service, store, ticket = _service()
    moved = run(service.transition(ticket.code, TransitionRequest(to=S.ACKNOWLEDGED, note="đã nhận"), "l1.an"))
    assert moved.status is S.ACKNOWLEDGED and moved.clock.responded_at is not None
    (event,) = store.committed.events[ticket.code]
    assert (event.kind, event.actor) == ("status_changed", "l1.an")
    assert event.data == {"from": S.NEW, "to": S.ACKNOWLEDGED, "note": "đã nhận"}


def test_a_refused_transition_lists_what_is_allowed_and_writes_nothing() -> None:
    service, store, ticket = _service()
    with pytest.raises(Conflict) as refused:
        run(service.transition(ticket.code, TransitionRequest(to=S.CLOSED), "l1.an"))
    assert refused.value.allowed and "closed" not in refused.value.allowed
    assert store.committed.tickets[ticket.code].status is S.NEW and store.committed.events[ticket.code] == []


def test_resolving_keeps_root_cause_and_actions_on_the_ticket_and_in_its_event() -> None:
    service, store, ticket = _service()
    run(service.transition(ticket.code, TransitionRequest(to=S.ACKNOWLEDGED), "l2.binh"))
    request = ResolutionRequest(root_cause="PSU hỏng", actions_taken="thay nguồn")
    resolved = run(service.resolve(ticket.code, request, "l2.binh"))
    assert (resolved.status, resolved.root_cause, resolved.actions_taken) == (S.RESOLVED, "PSU hỏng", "thay nguồn")
    assert resolved.clock.resolved_at is not None
    assert store.committed.events[ticket.code][-1].data["root_cause"] == "PSU hỏng"


def test_csat_is_taken_only_after_resolution() -> None:
    service, store, ticket = _service()
    with pytest.raises(Conflict):
        run(service.csat(ticket.code, CsatRequest(score=5), "l1.an"))
    assert store.committed.events[ticket.code] == []
    run(service.transition(ticket.code, TransitionRequest(to=S.ACKNOWLEDGED), "l1.an"))
    run(service.resolve(ticket.code, ResolutionRequest(root_cause="cáp lỏng", actions_taken="cắm lại"), "l1.an"))
    rated = run(service.csat(ticket.code, CsatRequest(score=4, comment="nhanh"), "l1.an"))
    assert (rated.csat_score, rated.csat_comment) == (4, "nhanh")
    with pytest.raises(Conflict, match="rating of this resolution is recorded"):
        run(service.csat(ticket.code, CsatRequest(score=1), "l1.an"))
    assert store.committed.tickets[ticket.code].csat_score == 4


def test_a_worklog_appends_an_event_and_leaves_the_state_alone() -> None:
    service, store, ticket = _service()
    after = run(service.worklog(ticket.code, WorklogRequest(note="gọi khách", minutes_spent=15), "l1.an"))
    assert after.status is S.NEW
    (event,) = store.committed.events[ticket.code]
    assert event.kind == "worklog" and event.data["minutes_spent"] == 15


def test_reopening_restarts_the_escalation_timer_of_the_level() -> None:
    service, _, ticket = _service()
    run(service.transition(ticket.code, TransitionRequest(to=S.ACKNOWLEDGED), "l1.an"))
    run(service.resolve(ticket.code, ResolutionRequest(root_cause="x" * 3, actions_taken="y" * 3), "l1.an"))
    reopened = run(service.transition(ticket.code, TransitionRequest(to=S.IN_PROGRESS), "l1.an"))
    assert reopened.status is S.IN_PROGRESS and reopened.level_since is not None and reopened.level_since > T0


def test_a_code_that_is_no_ticket_code_or_no_ticket_is_not_found() -> None:
    service, _, _ = _service()
    with pytest.raises(NotFound, match="is not a ticket code"):
        run(service.get("DROP TABLE tickets"))
    with pytest.raises(NotFound):
        run(service.get(ticket_code_for(uuid.uuid4())))
    with pytest.raises(NotFound):
        run(service.worklog(ticket_code_for(uuid.uuid4()), WorklogRequest(note="n"), "l1.an"))


def test_a_supervisor_reassigns_an_open_ticket_to_an_engineer_once() -> None:
    service, store, ticket = _service()
    store.committed.engineers.add("l2.chi")
    moved = run(service.reassign(ticket.code, ReassignRequest(assignee="l2.chi", note="biết thiết bị này"), "sup.hoa"))
    assert moved.assignee == "l2.chi" and moved.assigned_at is not None
    again = run(service.reassign(ticket.code, ReassignRequest(assignee="l2.chi"), "sup.hoa"))  # a resubmitted form
    assert again.assignee == "l2.chi"
    events = store.committed.events[ticket.code]
    assert [e.kind for e in events] == ["reassigned"] and events[0].data["to"] == "l2.chi"


@pytest.mark.parametrize("assignee", ["nobody.here", "audit.binh"])
def test_a_ticket_goes_only_to_an_active_engineer_and_a_refusal_writes_nothing(assignee: str) -> None:
    service, store, ticket = _service()
    with pytest.raises(InvalidInput):
        run(service.reassign(ticket.code, ReassignRequest(assignee=assignee), "sup.hoa"))
    assert store.committed.tickets[ticket.code].assignee == ticket.assignee
    assert store.committed.events[ticket.code] == []


def test_escalating_moves_to_the_next_level_unassigned_and_restarts_its_timer() -> None:
    service, store, ticket = _service()
    store.committed.engineers.add("l1.an")
    run(service.reassign(ticket.code, ReassignRequest(assignee="l1.an"), "sup.hoa"))
    up = run(service.escalate(ticket.code, EscalateRequest(from_level=SupportLevel.L1, note="khách VIP"), "sup.hoa"))
    assert up.support_level is SupportLevel.L2 and up.assignee is None
    assert up.level_since is not None and up.level_since > T0
    event = store.committed.events[ticket.code][-1]
    assert event.kind == "escalated" and event.data == {"from": "L1", "to": "L2", "reason": "khách VIP", "manual": True}


def test_an_escalation_sent_twice_is_applied_once() -> None:
    service, store, ticket = _service()
    request = EscalateRequest(from_level=SupportLevel.L1, note="khách VIP")
    run(service.escalate(ticket.code, request, "sup.hoa"))
    with pytest.raises(Conflict, match="nothing was escalated"):
        run(service.escalate(ticket.code, request, "sup.hoa"))  # the same form again: it is at L2 now
    assert store.committed.tickets[ticket.code].support_level is SupportLevel.L2
    assert [e.kind for e in store.committed.events[ticket.code]] == ["escalated"]


def test_the_last_level_and_closed_tickets_are_not_escalated() -> None:
    service, _store, ticket = _service()
    for level in (SupportLevel.L1, SupportLevel.L2):
        run(service.escalate(ticket.code, EscalateRequest(from_level=level, note="cần L3"), "sup.hoa"))
    with pytest.raises(Conflict, match="last level"):
        run(service.escalate(ticket.code, EscalateRequest(from_level=SupportLevel.L3, note="tiếp"), "sup.hoa"))
    run(service.resolve(ticket.code, ResolutionRequest(root_cause="cáp hỏng", actions_taken="thay cáp"), "l3.x"))
    with pytest.raises(Conflict, match="cannot be reassigned"):
        run(service.reassign(ticket.code, ReassignRequest(assignee="l1.an"), "sup.hoa"))


def test_a_plain_transition_cannot_resolve_without_root_cause() -> None:
    service, store, ticket = _service()
    with pytest.raises(InvalidInput, match="root cause"):
        run(service.transition(ticket.code, TransitionRequest(to=S.RESOLVED, note="xong"), "l1.an"))
    assert store.committed.tickets[ticket.code].status is S.NEW and store.committed.events[ticket.code] == []


def _resolved() -> tuple[TicketService, MemoryTicketStore, Ticket]:
    service, store, ticket = _service()
    run(service.transition(ticket.code, TransitionRequest(to=S.ACKNOWLEDGED), "l1.an"))
    run(service.resolve(ticket.code, ResolutionRequest(root_cause="cáp lỏng", actions_taken="cắm lại"), "l1.an"))
    return service, store, ticket


def test_a_follow_up_is_recorded_once_per_resolution_with_its_key() -> None:
    service, store, ticket = _resolved()
    done = run(service.followup(ticket.code, FollowupRequest(outcome=FollowupOutcome.CONFIRMED, note="ổn"), "l1.an"))
    assert done.status is S.RESOLVED
    event = store.committed.events[ticket.code][-1]
    assert (event.kind, event.data["outcome"]) == ("followup_recorded", "confirmed")
    assert done.clock.resolved_at is not None and event.action_key == followup_key(done.clock.resolved_at)
    before = list(store.committed.events[ticket.code])
    with pytest.raises(Conflict, match="is recorded"):
        run(service.followup(ticket.code, FollowupRequest(outcome=FollowupOutcome.UNREACHABLE), "l1.an"))
    assert store.committed.events[ticket.code] == before


def test_a_follow_up_before_the_resolution_is_refused_and_writes_nothing() -> None:
    service, store, ticket = _service()
    with pytest.raises(Conflict, match="after the resolution"):
        run(service.followup(ticket.code, FollowupRequest(outcome=FollowupOutcome.CONFIRMED), "l1.an"))
    assert store.committed.events[ticket.code] == []


def test_a_follow_up_that_finds_the_fault_back_reopens_the_ticket() -> None:
    service, store, ticket = _resolved()
    request = FollowupRequest(outcome=FollowupOutcome.REOPENED, note="lại mất mạng")
    reopened = run(service.followup(ticket.code, request, "l1.an"))
    assert reopened.status is S.IN_PROGRESS and reopened.clock.resolved_at is None
    recorded, moved = store.committed.events[ticket.code][-2:]
    assert (recorded.kind, moved.kind, moved.data["to"]) == ("followup_recorded", "status_changed", S.IN_PROGRESS)


def _resolved_p1() -> tuple[TicketService, MemoryTicketStore, Ticket]:
    ticket = _ticket().model_copy(update={"priority": Priority.P1})
    store = MemoryTicketStore([ticket])
    service = TicketService(store)
    run(service.transition(ticket.code, TransitionRequest(to=S.ACKNOWLEDGED), "l2.binh"))
    run(
        service.resolve(
            ticket.code, ResolutionRequest(root_cause="mất điện tủ", actions_taken="chuyển nguồn"), "l2.binh"
        )
    )
    return service, store, ticket


REVIEW = ReviewRequest(
    summary="Mất kết nối toàn chi nhánh 2 giờ",
    timeline="09:00 cảnh báo; 09:10 L2 nhận; 11:00 khôi phục",
    root_cause="Tủ nguồn mất điện, UPS hết pin",
    corrective_actions=["Thay pin UPS", "Giám sát dung lượng pin"],
)


def test_a_p1_is_closed_only_after_its_post_incident_review_which_is_recorded_once() -> None:
    service, store, ticket = _resolved_p1()
    with pytest.raises(Conflict, match="closed after its post-incident review"):
        run(service.transition(ticket.code, TransitionRequest(to=S.CLOSED), "l2.binh"))
    assert store.committed.tickets[ticket.code].status is S.RESOLVED
    run(service.review(ticket.code, REVIEW, "sup.hoa"))
    with pytest.raises(Conflict, match="review of this resolution is recorded"):
        run(service.review(ticket.code, REVIEW, "sup.hoa"))
    closed = run(service.transition(ticket.code, TransitionRequest(to=S.CLOSED), "l2.binh"))
    assert closed.status is S.CLOSED
    [review] = [e for e in store.committed.events[ticket.code] if e.kind == "post_incident_review"]
    assert review.data["corrective_actions"] == ["Thay pin UPS", "Giám sát dung lượng pin"]


def test_a_review_is_for_a_resolved_p1_only() -> None:
    p1 = _ticket().model_copy(update={"priority": Priority.P1})
    with pytest.raises(Conflict, match="comes after the resolution"):
        run(TicketService(MemoryTicketStore([p1])).review(p1.code, REVIEW, "sup.hoa"))
    p3 = _ticket().model_copy(update={"priority": Priority.P3})
    with pytest.raises(Conflict, match="for P1 incidents"):
        run(TicketService(MemoryTicketStore([p3])).review(p3.code, REVIEW, "sup.hoa"))


def _pair() -> tuple[TicketService, MemoryTicketStore, Ticket, Ticket]:
    primary, duplicate = _ticket(), _ticket()
    store = MemoryTicketStore([primary, duplicate])
    return TicketService(store), store, primary, duplicate


def test_a_duplicate_is_resolved_with_a_link_both_ways_and_work_goes_on_in_the_primary() -> None:
    service, store, primary, duplicate = _pair()
    done = run(
        service.mark_duplicate(duplicate.code, DuplicateRequest(primary=primary.code, note="cùng sự cố"), "l1.an")
    )
    assert done.status is S.RESOLVED and done.root_cause == f"Trùng với / Duplicate of {primary.code}"
    assert [e.kind for e in store.committed.events[duplicate.code]] == ["duplicate_of", "status_changed"]
    assert [e.data for e in store.committed.events[primary.code]] == [{"duplicate": duplicate.code}]
    assert store.committed.tickets[primary.code].status is S.NEW


def test_a_duplicate_link_is_refused_for_itself_a_resolved_ticket_or_a_resolved_primary_and_writes_nothing() -> None:
    service, store, primary, duplicate = _pair()
    with pytest.raises(InvalidInput, match="not a duplicate of itself"):
        run(service.mark_duplicate(primary.code, DuplicateRequest(primary=primary.code), "l1.an"))
    run(service.mark_duplicate(duplicate.code, DuplicateRequest(primary=primary.code), "l1.an"))
    with pytest.raises(Conflict, match="only an open ticket"):
        run(service.mark_duplicate(duplicate.code, DuplicateRequest(primary=primary.code), "l1.an"))
    with pytest.raises(Conflict, match="is resolved; link to an open ticket"):  # no chains through a duplicate
        run(service.mark_duplicate(primary.code, DuplicateRequest(primary=duplicate.code), "l1.an"))
    with pytest.raises(InvalidInput, match=r"primary: .* is not a ticket code"):
        run(service.mark_duplicate(primary.code, DuplicateRequest(primary="INC-nope"), "l1.an"))
    assert store.committed.tickets[primary.code].status is S.NEW and len(store.committed.events[primary.code]) == 1


def test_a_complaint_is_recorded_with_what_state_the_ticket_was_in() -> None:
    service, store, ticket = _service()
    run(service.complain(ticket.code, ComplaintRequest(text="Chờ 3 giờ chưa ai gọi lại"), "customer:an@x.vn"))
    [event] = store.committed.events[ticket.code]
    assert (event.kind, event.actor, event.data["text"], event.data["status"]) == (
        "complaint",
        "customer:an@x.vn",
        "Chờ 3 giờ chưa ai gọi lại",
        "new",
    )


def test_a_ticket_with_a_visit_under_way_is_not_resolved_nor_closed_out_as_a_duplicate() -> None:
    service, store, other, ticket = _pair()
    store.committed.visits_under_way[ticket.code] = uuid.uuid4()
    resolution = ResolutionRequest(root_cause="cáp quang đứt", actions_taken="hàn lại cáp")
    with pytest.raises(Conflict, match="visit under way"):
        run(service.resolve(ticket.code, resolution, "l2.binh"))
    with pytest.raises(Conflict, match="visit under way"):
        run(service.mark_duplicate(ticket.code, DuplicateRequest(primary=other.code), "l1.an"))
    assert store.committed.tickets[ticket.code].status is ticket.status
    del store.committed.visits_under_way[ticket.code]  # the technician left (or the visit was cancelled)
    assert run(service.resolve(ticket.code, resolution, "l2.binh")).status is S.RESOLVED


def test_a_ticket_resolved_without_the_actions_taken_is_not_closed() -> None:
    service, store, ticket = _service()
    resolved = ticket.model_copy(update={"status": S.RESOLVED, "root_cause": "alert cleared", "actions_taken": None})
    store.committed.tickets[ticket.code] = resolved
    with pytest.raises(Conflict, match="closed with its root cause and the actions taken"):
        run(service.transition(ticket.code, TransitionRequest(to=S.CLOSED), "l2.binh"))
    assert store.committed.tickets[ticket.code].status is S.RESOLVED
