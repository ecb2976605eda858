"""Intake told to stop answers the intakes still waiting on Kafka with a retriable 503 at once,
instead of leaving their clients to their own timeouts (or uvicorn's 500 when it cancels them)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from core.errors import Unavailable
from core.intake.domain.schemas import IntakeDraft, received
from core.intake.kafka.bus import KafkaIntakeBus, Lane
from core.kafka import ProducerSlot
from tests.unit.core.kafka_fakes import DeadProducer


class HangingProducer:
    """A broker cut off by a partition: sends are taken, never acknowledged."""

    async def send(self, topic: str, **_: object) -> asyncio.Future[None]:
        return asyncio.get_running_loop().create_future()


def _event() -> object:
    draft = IntakeDraft.model_validate(
        {"channel": "portal", "contact": {"phone": "+84 24 3000 0000"}, "subject": "máy chủ không phản hồi"}
    )
    now = datetime.now(UTC)
    return received(draft, intake_id=uuid.uuid4(), ticket_code="INC-TEST", received_at=now, site="a", receiver="system")


def _bus() -> KafkaIntakeBus:
    return KafkaIntakeBus(
        ["127.0.0.1:9"],
        "intake.v1",
        auth=None,
        ack_timeout_s=30,
        retry_after_s=1,
        request_timeout_ms=3000,
        hedge_after_ms=400,
        suspect_s=10,
        max_hedged=64,
        client_id="test",
    )


def _one_lane(bus: KafkaIntakeBus, producer: object) -> ProducerSlot:
    """The bus connected to a topic on one replica set (never hedged), through `producer`."""
    slot = ProducerSlot(lambda: producer, "test")  # type: ignore[arg-type,return-value]
    slot.producer = producer  # type: ignore[assignment]
    bus._loop = asyncio.get_running_loop()
    bus.use([Lane(slot, (0,))])
    return slot


def test_a_publish_waiting_on_kafka_answers_503_as_soon_as_the_process_is_told_to_stop() -> None:
    async def scenario() -> BaseException | None:
        bus = _bus()
        _one_lane(bus, HangingProducer())
        waiting = asyncio.create_task(bus.publish([_event()]))  # type: ignore[list-item]
        await asyncio.sleep(0.05)
        assert not waiting.done(), "nothing acknowledged it"
        bus.begin_stopping()
        done, _ = await asyncio.wait({waiting}, timeout=1)  # far below ack_timeout_s
        assert done, "still waiting after the stop"
        return waiting.exception()

    error = asyncio.run(scenario())
    assert isinstance(error, Unavailable) and "stopping" in str(error)


def test_once_stopping_a_new_publish_is_refused_and_readiness_says_why() -> None:
    async def scenario() -> None:
        bus = _bus()
        _one_lane(bus, HangingProducer())
        bus.begin_stopping()
        await asyncio.sleep(0)  # the stop is delivered through the loop (signal-safe)
        assert bus.not_ready() == "stopping"
        with pytest.raises(Unavailable, match="stopping"):
            await bus.publish([_event()])  # type: ignore[list-item]

    asyncio.run(scenario())


class AckingProducer:
    async def start(self) -> None:
        return None

    async def send(self, topic: str, **_: object) -> asyncio.Future[None]:
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def test_a_producer_kafka_gave_up_on_is_replaced_and_intake_acknowledges_again() -> None:
    async def scenario() -> tuple[DeadProducer, str | None]:
        bus = _bus()
        dead = DeadProducer()
        _one_lane(bus, dead)._make = AckingProducer  # type: ignore[assignment]
        with pytest.raises(Unavailable, match="OutOfOrderSequenceNumber"):
            await bus.publish([_event()])  # type: ignore[list-item]
        for _ in range(100):  # the renewal runs in the background
            if bus.not_ready() is None:
                break
            await asyncio.sleep(0.01)
        await bus.publish([_event()])  # type: ignore[list-item]
        return dead, bus.not_ready()

    dead, readiness = asyncio.run(scenario())
    assert dead.stopped
    assert readiness is None
