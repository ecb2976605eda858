"""An intake bus on stand-in producers, and an intake event to publish, for the bus's unit tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from core.intake.domain.schemas import IntakeDraft, IntakeEvent, received
from core.intake.kafka.bus import KafkaIntakeBus, Lane
from core.kafka import ProducerSlot


def portal_event(code: str = "INC-TEST") -> IntakeEvent:
    draft = IntakeDraft.model_validate(
        {"channel": "portal", "contact": {"phone": "+84 24 3000 0000"}, "subject": "máy chủ không phản hồi"}
    )
    now = datetime.now(UTC)
    return received(draft, intake_id=uuid.uuid4(), ticket_code=code, received_at=now, site="a", receiver="system")


def connected_bus(
    producers: Sequence[object], lanes: Sequence[tuple[int, ...]], *, hedge_after_ms: int = 50, max_hedged: int = 64
) -> KafkaIntakeBus:
    """A bus whose lanes (the partitions of each replica set) send through `producers`."""
    bus = KafkaIntakeBus(
        ["127.0.0.1:9"],
        "intake.v1",
        auth=None,
        ack_timeout_s=30,
        retry_after_s=1,
        request_timeout_ms=3000,
        hedge_after_ms=hedge_after_ms,
        suspect_s=10,
        max_hedged=max_hedged,
        client_id="test",
    )
    slots = []
    for producer in producers:
        slot = ProducerSlot(lambda p=producer: p, "test")  # type: ignore[misc]
        slot.producer = producer
        slots.append(slot)
    bus.use([Lane(slot, partitions) for slot, partitions in zip(slots, lanes, strict=True)])
    return bus
