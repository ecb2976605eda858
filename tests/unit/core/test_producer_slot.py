"""A producer Kafka refused for good is replaced once, however many senders saw it fail, and a
sender's own deadline cannot cut the replacement short."""

from __future__ import annotations

import asyncio

import pytest

import core.kafka
from core.kafka import ProducerSlot
from tests.unit.core.kafka_fakes import DeadProducer


class SlowStart:
    """A new producer that takes a while to connect, as a busy broker makes it."""

    made = 0

    def __init__(self) -> None:
        SlowStart.made += 1


def test_two_senders_seeing_the_same_failure_replace_the_producer_once(monkeypatch: pytest.MonkeyPatch) -> None:
    async def start(make: object, what: str) -> object:
        await asyncio.sleep(0.05)
        return SlowStart()

    monkeypatch.setattr(core.kafka, "start_when_reachable", start)
    SlowStart.made = 0

    async def scenario() -> tuple[object, DeadProducer]:
        slot = ProducerSlot(SlowStart, "test producer")
        dead = DeadProducer()
        slot.producer = dead
        first = slot.renew(dead, RuntimeError("out of order"))
        second = slot.renew(dead, RuntimeError("out of order"))
        assert first is second and first is not None
        with pytest.raises(TimeoutError):  # the sender gives up waiting ...
            async with asyncio.timeout(0.01):
                await asyncio.shield(first)
        await first  # ... the replacement goes on
        assert slot.renew(dead, RuntimeError("late")) is None  # a late report of the old one changes nothing
        return slot.producer, dead

    producer, dead = asyncio.run(scenario())
    assert isinstance(producer, SlowStart) and SlowStart.made == 1
    assert dead.stopped


class NeverFlushes:
    """An idempotent producer whose partitions cannot reach min.insync.replicas: its stop flushes forever."""

    async def stop(self) -> None:
        await asyncio.Event().wait()


def test_a_producer_that_cannot_flush_does_not_hold_up_the_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core.kafka, "PRODUCER_STOP_S", 0.05)

    async def scenario() -> bool:
        slot = ProducerSlot(NeverFlushes, "test")
        slot.producer = NeverFlushes()
        stopping = asyncio.ensure_future(slot.stop())
        done, _ = await asyncio.wait({stopping}, timeout=2)
        return bool(done)

    assert asyncio.run(scenario()), "the stop waited for a flush that never ends"
