"""Intake told to stop answers the intakes still waiting on Kafka with a retriable 503 at once,
instead of leaving their clients to their own timeouts (or uvicorn's 500 when it cancels them)."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import Unavailable
from core.intake.kafka.bus import KafkaIntakeBus
from tests.unit.core.intake.kafka.support import connected_bus, portal_event
from tests.unit.core.kafka_fakes import DeadProducer


class HangingProducer:
    """A broker cut off by a partition: sends are taken, never acknowledged."""

    async def send(self, topic: str, **_: object) -> asyncio.Future[None]:
        return asyncio.get_running_loop().create_future()


def _one_lane(producer: object) -> KafkaIntakeBus:
    """A bus on a topic of one replica set (never hedged), sending through `producer`."""
    bus = connected_bus([producer], [(0,)])
    bus._loop = asyncio.get_running_loop()
    return bus


def test_a_publish_waiting_on_kafka_answers_503_as_soon_as_the_process_is_told_to_stop() -> None:
    async def scenario() -> BaseException | None:
        bus = _one_lane(HangingProducer())
        waiting = asyncio.create_task(bus.publish([portal_event()]))
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
        bus = _one_lane(HangingProducer())
        bus.begin_stopping()
        await asyncio.sleep(0)  # the stop is delivered through the loop (signal-safe)
        assert bus.not_ready() == "stopping"
        with pytest.raises(Unavailable, match="stopping"):
            await bus.publish([portal_event()])

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
        dead = DeadProducer()
        bus = _one_lane(dead)
        bus._lanes[0].slot._make = AckingProducer
        with pytest.raises(Unavailable, match="OutOfOrderSequenceNumber"):
            await bus.publish([portal_event()])
        for _ in range(100):  # the renewal runs in the background
            if bus.not_ready() is None:
                break
            await asyncio.sleep(0.01)
        await bus.publish([portal_event()])
        return dead, bus.not_ready()

    dead, readiness = asyncio.run(scenario())
    assert dead.stopped
    assert readiness is None
