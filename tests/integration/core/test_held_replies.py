"""A reply that reaches the ticket worker ahead of its ticket's own intake (a hedge across a lost lane
sends it through another partition) waits for that ticket, on the lab's workers: it is appended to
the ticket once that opens, instead of opening a ticket of its own; and one whose ticket never comes
is not lost, it opens its own ticket once its hold has ended."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer

from core.intake.domain.codes import ticket_code_for
from core.intake.domain.schemas import Channel, Contact, EmailInfo, IntakeEvent, IntakeKind
from tests.integration.conftest import wait_until
from tests.integration.core.conftest import Front

pytestmark = pytest.mark.lab

CUSTOMER = "khach.hang@example.vn"
BEHIND_S = 3  # the ticket's own intake arrives this long after the reply (a fence's worth)


def _mail(kind: IntakeKind, subject: str, reply_to: tuple[str, ...] = ()) -> IntakeEvent:
    intake_id = uuid.uuid4()
    now = datetime.now(UTC)
    return IntakeEvent(
        channel=Channel.EMAIL,
        kind=kind,
        intake_id=intake_id,
        ticket_code=ticket_code_for(intake_id),
        reply_to=reply_to,
        event_time=now,
        received_at=now,
        received_site="a",
        receiver="system",
        subject=subject,
        contact=Contact(email=CUSTOMER),
        email=EmailInfo(message_id=f"<{intake_id}@example.vn>", sender=CUSTOMER),
    )


def _produce(front: Front, *sends: tuple[IntakeEvent, int, float]) -> None:
    """Each event to the given partition of the intake topic, after the given pause."""

    async def send() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=front.topo.kafka_bootstrap(), acks="all", **front.kafka_options("intake")
        )
        await producer.start()
        try:
            for event, partition, pause_s in sends:
                await asyncio.sleep(pause_s)
                await producer.send_and_wait(
                    front.topo.kafka.intake_topic, event.model_dump_json().encode(), partition=partition
                )
        finally:
            await producer.stop()

    asyncio.run(send())


def _ledger(front: Front, event: IntakeEvent) -> tuple[str | None, str] | None:
    rows = front.sql("SELECT ticket_code, outcome FROM intakes WHERE intake_id = %s", event.intake_id)
    return (rows[0][0], rows[0][1]) if rows else None


def test_a_reply_ahead_of_its_ticket_is_appended_to_it_not_opened_as_a_ticket_of_its_own(front: Front) -> None:
    original = _mail(IntakeKind.NEW, "mất kết nối VPN chi nhánh")
    reply = _mail(IntakeKind.REPLY, "Re: mất kết nối VPN chi nhánh", reply_to=(original.ticket_code,))
    _produce(front, (reply, 0, 0), (original, 1, BEHIND_S))
    front.ticket(original.ticket_code)
    ledger = wait_until("the reply applied", lambda: _ledger(front, reply), 30)
    assert ledger == (original.ticket_code, "appended")
    kinds = [e["kind"] for e in front.events(original.ticket_code)]
    assert "customer_replied" in kinds, kinds
    assert not front.sql("SELECT 1 FROM tickets WHERE code = %s", reply.ticket_code)
    assert not front.sql("SELECT 1 FROM held_intakes WHERE intake_id = %s", reply.intake_id)


def test_a_reply_whose_ticket_never_comes_opens_its_own_once_its_hold_has_ended(front: Front) -> None:
    hold_s = front.topo.tickets.hold_for_ticket_s
    never = ticket_code_for(uuid.uuid4())
    reply = _mail(IntakeKind.REPLY, "Re: a ticket that never was", reply_to=(never,))
    _produce(front, (reply, 0, 0))
    wait_until(
        "the reply held", lambda: front.sql("SELECT 1 FROM held_intakes WHERE intake_id = %s", reply.intake_id), 30
    )
    assert _ledger(front, reply) is None  # held: not applied, not in the ledger
    ticket = front.ticket(reply.ticket_code, timeout=hold_s + 60)
    created = front.sql("SELECT created_at FROM tickets WHERE code = %s", reply.ticket_code)[0][0]
    assert (created - reply.received_at).total_seconds() >= hold_s - 1, "opened before its hold ended"
    assert ticket["subject"] == reply.subject
    assert _ledger(front, reply) == (reply.ticket_code, "opened")
    assert not front.sql("SELECT 1 FROM held_intakes WHERE intake_id = %s", reply.intake_id)
