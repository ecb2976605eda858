"""A rebalance that takes partitions while the consumer exports its lag does not crash the worker
(it did in CI: asking aiokafka for the high watermark of a partition no longer held asserts)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import TopicPartition

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


def _consumer() -> IntakeConsumer:
    tuning = WorkerTuning(
        max_batch=100, session_timeout_ms=6000, heartbeat_interval_ms=1000, request_timeout_ms=5000, db_timeout_s=5
    )
    pool: Any = None  # never used by the lag export
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
    )


def test_partitions_revoked_during_the_lag_export_are_left_out_instead_of_crashing() -> None:
    consumer = _consumer()
    fake = RebalancingConsumer()
    consumer._consumer = fake  # type: ignore[assignment]

    asyncio.run(consumer._export_lag())

    assert set(consumer._next) == KEPT
    assert PARTITIONS_HELD._value.get() == len(KEPT)
