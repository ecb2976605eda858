"""The worker's part in its consumer group: a rebalance that takes partitions while it exports its
lag does not crash it (it did in CI: asking aiokafka for the high watermark of a partition no longer
held asserts), and it joins only once it can reach the primary."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from aiokafka import TopicPartition

import core.kafka
import core.tickets.kafka.consumer as consumer_module
from core.intake.domain.storable import StoreLimits
from core.tickets.domain.planning import Policies
from core.tickets.kafka.consumer import PARTITIONS_HELD, IntakeConsumer, WorkerTuning

TOPIC = "intake.v1"
ALL = {TopicPartition(TOPIC, p) for p in range(6)}
KEPT = {TopicPartition(TOPIC, p) for p in range(3)}


class RebalancingConsumer:
    """Holds six partitions until the first `committed()` call, during which the group gives three
    of them to another member, as aiokafka's coordinator does between two awaits."""

    def __init__(self) -> None:
        self.held = set(ALL)

    def assignment(self) -> set[TopicPartition]:
        return set(self.held)

    async def committed(self, tp: TopicPartition) -> int:
        await asyncio.sleep(0)
        self.held = set(KEPT)
        return 10

    def highwater(self, tp: TopicPartition) -> int:
        assert tp in self.held, "Partition is not assigned"  # aiokafka's own check
        return 15


def _consumer(pool: Any = None) -> IntakeConsumer:
    tuning = WorkerTuning(
        max_batch=100,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        request_timeout_ms=5000,
        db_timeout_s=5,
        hold_s=30,
        held_check_s=1,
    )
    return IntakeConsumer(
        bootstrap=["127.0.0.1:9"],
        auth=None,
        topic=TOPIC,
        quarantine_topic="intake.quarantine.v1",
        group="ccdr-tickets",
        pool=pool,
        policies=Policies(),
        limits=StoreLimits(),
        tuning=tuning,
        client_id="test",
        worker="ticket-worker@test",
        member="ticket-worker@test/host",
    )


def test_partitions_revoked_during_the_lag_export_are_left_out_instead_of_crashing() -> None:
    consumer = _consumer()
    fake = RebalancingConsumer()
    consumer._consumer = fake

    asyncio.run(consumer._export_lag())

    assert set(consumer._next) == KEPT
    assert PARTITIONS_HELD._value.get() == len(KEPT)


class FlakyPool:
    """A pool whose first `failures` connections fail as a primary out of reach does."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts = 0

    def connection(self) -> Any:
        pool = self

        class Conn:
            async def __aenter__(self) -> Conn:
                pool.attempts += 1
                if pool.attempts <= pool.failures:
                    raise psycopg.OperationalError("connection timeout expired")
                return self

            async def __aexit__(self, *exc: object) -> None:
                return None

            async def execute(self, sql: str) -> None:
                return None

        return Conn()


def test_the_worker_joins_the_group_only_once_the_primary_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = FlakyPool(failures=2)
    consumer = _consumer(pool)
    started: list[tuple[str, int]] = []

    class Joined(Exception):
        pass

    async def start(make: Any, what: str) -> Any:
        started.append((what, pool.attempts))
        if what == "intake consumer":
            raise Joined  # stop the run here: only the order matters
        return None

    monkeypatch.setattr(consumer_module, "start_when_reachable", start)
    monkeypatch.setattr(core.kafka, "start_when_reachable", start)  # the quarantine producer's slot
    with pytest.raises(Joined):
        asyncio.run(consumer.run())
    assert started == [("quarantine producer", 0), ("intake consumer", 3)]
