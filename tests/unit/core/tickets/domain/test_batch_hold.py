"""A reply or a cleared alert that names a ticket not there yet waits for it (core.tickets.domain.batch):
held while its hold lasts, applied to its ticket once that appears, applied as before (a reply
opens its own ticket, an alert is unmatched) once the hold has ended."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from core.intake.domain.codes import ticket_code_for
from core.intake.domain.schemas import AlertInfo, Channel, EmailInfo, IntakeEvent, IntakeKind
from core.tickets.domain.batch import Hold, Positioned, Snapshot, plan_batch
from core.tickets.domain.outcome import Outcome
from core.tickets.domain.planning import Policies

NOW = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
WAIT = Hold(now=NOW, wait_s=30)
POLICIES = Policies()


def _event(
    kind: IntakeKind, *, reply_to: tuple[str, ...] = (), message_id: str = "<m@x>", **more: object
) -> Positioned:
    intake_id = uuid.uuid4()
    fields: dict[str, object] = {
        "kind": kind,
        "intake_id": intake_id,
        "ticket_code": ticket_code_for(intake_id),
        "event_time": NOW,
        "received_at": NOW,
        "received_site": "a",
        "receiver": "system",
        "subject": "máy chủ không phản hồi",
        "reply_to": reply_to,
    }
    if kind is IntakeKind.ALERT_RESOLVED:
        fields["channel"] = Channel.ALERTMANAGER
        fields["alert"] = AlertInfo(source="alertmanager", fingerprint="f1", status="resolved", starts_at=NOW)
    else:
        fields["channel"] = Channel.EMAIL
        fields["email"] = EmailInfo(message_id=message_id, sender="khach@example.com", **more)
    return Positioned(IntakeEvent.model_validate(fields), partition=0, offset=0)


def _opened(item: Positioned) -> Snapshot:
    """A snapshot in which `item` (a new intake) opened its ticket earlier."""
    writes = plan_batch([item], Snapshot(), POLICIES, WAIT)
    return Snapshot(tickets=dict(writes.new_tickets), seen={item.event.intake_id})


def test_a_reply_to_a_ticket_not_there_yet_is_held_not_opened_as_its_own() -> None:
    new = _event(IntakeKind.NEW)
    reply = _event(IntakeKind.REPLY, reply_to=(new.event.ticket_code,))
    writes = plan_batch([reply], Snapshot(), POLICIES, WAIT)
    assert writes.outcomes == [(reply.event, Outcome.HELD)]
    assert [(h.event, h.until) for h in writes.held] == [(reply.event, NOW + timedelta(seconds=30))]
    assert not writes.new_tickets and not writes.intakes and not writes.messages and not writes.released


def test_a_cleared_alert_whose_ticket_is_not_there_yet_is_held_not_unmatched() -> None:
    alert = _event(IntakeKind.ALERT_RESOLVED, reply_to=("INC-AAAA-AAAA-AAAA",))
    writes = plan_batch([alert], Snapshot(), POLICIES, WAIT)
    assert writes.outcomes == [(alert.event, Outcome.HELD)]
    assert not writes.intakes


def test_a_held_reply_is_appended_to_its_ticket_once_that_appears_and_released() -> None:
    new = _event(IntakeKind.NEW)
    reply = _event(IntakeKind.REPLY, reply_to=(new.event.ticket_code,))
    until = {reply.event.intake_id: NOW + timedelta(seconds=20)}
    writes = plan_batch([reply], _opened(new), POLICIES, WAIT, until)
    assert writes.outcomes == [(reply.event, Outcome.APPENDED)]
    assert [i.ticket_code for i in writes.intakes] == [new.event.ticket_code]
    assert not writes.new_tickets
    assert writes.released == [reply.event.intake_id] and not writes.held


def test_a_held_reply_still_without_its_ticket_stays_held_as_it_is() -> None:
    reply = _event(IntakeKind.REPLY, reply_to=("INC-AAAA-AAAA-AAAA",))
    until = {reply.event.intake_id: NOW + timedelta(seconds=5)}
    writes = plan_batch([reply], Snapshot(), POLICIES, WAIT, until)
    assert writes.outcomes == [(reply.event, Outcome.HELD)]
    assert not writes.held and not writes.released  # its row, and its end, stay as they are


def test_once_the_hold_has_ended_a_reply_opens_its_own_ticket_and_an_alert_is_unmatched() -> None:
    reply = _event(IntakeKind.REPLY, reply_to=("INC-AAAA-AAAA-AAAA",))
    alert = _event(IntakeKind.ALERT_RESOLVED, reply_to=("INC-BBBB-BBBB-BBBB",))
    ended = {reply.event.intake_id: NOW, alert.event.intake_id: NOW - timedelta(seconds=1)}
    writes = plan_batch([reply, alert], Snapshot(), POLICIES, WAIT, ended)
    assert writes.outcomes == [(reply.event, Outcome.OPENED), (alert.event, Outcome.UNMATCHED)]
    assert list(writes.new_tickets) == [reply.event.ticket_code]
    assert sorted(writes.released) == sorted([reply.event.intake_id, alert.event.intake_id])


def test_a_held_event_applied_meanwhile_is_released_as_a_duplicate() -> None:
    reply = _event(IntakeKind.REPLY, reply_to=("INC-AAAA-AAAA-AAAA",))
    until = {reply.event.intake_id: NOW + timedelta(seconds=20)}
    writes = plan_batch([reply], Snapshot(seen={reply.event.intake_id}), POLICIES, WAIT, until)
    assert writes.outcomes == [(reply.event, Outcome.DUPLICATE)]
    assert writes.released == [reply.event.intake_id] and not writes.intakes


def test_a_reply_whose_ticket_opens_later_in_the_same_batch_is_held_then_its_ticket_opens() -> None:
    new = _event(IntakeKind.NEW)
    reply = _event(IntakeKind.REPLY, reply_to=(new.event.ticket_code,))
    writes = plan_batch([reply, new], Snapshot(), POLICIES, WAIT)
    assert writes.outcomes == [(reply.event, Outcome.HELD), (new.event, Outcome.OPENED)]
    assert list(writes.new_tickets) == [new.event.ticket_code]


def test_a_reply_threaded_by_message_id_is_not_held() -> None:
    new = _event(IntakeKind.NEW, message_id="<first@x>")
    reply = _event(IntakeKind.REPLY, message_id="<second@x>", in_reply_to="<first@x>")
    writes = plan_batch([new, reply], Snapshot(), POLICIES, WAIT)
    assert writes.outcomes == [(new.event, Outcome.OPENED), (reply.event, Outcome.APPENDED)]


def test_without_a_hold_a_reply_to_a_missing_ticket_opens_its_own_at_once() -> None:
    reply = _event(IntakeKind.REPLY, reply_to=("INC-AAAA-AAAA-AAAA",))
    writes = plan_batch([reply], Snapshot(), POLICIES, Hold(now=NOW, wait_s=0))
    assert writes.outcomes == [(reply.event, Outcome.OPENED)]
    assert not writes.held
