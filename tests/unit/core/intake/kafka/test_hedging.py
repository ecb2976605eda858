"""An intake whose home lane stalls (its replica set holds a lost site) is acknowledged through
another lane instead of waiting for Kafka to fence the dead broker."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from aiokafka.errors import NotEnoughReplicasError

from core.errors import Unavailable
from core.intake.domain.schemas import IntakeEvent
from core.intake.kafka.bus import KafkaIntakeBus
from core.intake.kafka.routing import Router
from tests.unit.core.intake.kafka.support import connected_bus, portal_event

LANES = [(0, 3), (1, 4), (2, 5)]


class Producer:
    """Records every send; answers it as `mode` says: ack, hang (a stalled ISR) or refuse."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sent: list[int] = []
        self.keys: list[bytes] = []

    async def send(self, topic: str, *, partition: int, key: bytes, **_: object) -> asyncio.Future[None]:
        self.sent.append(partition)
        self.keys.append(key)
        done = asyncio.get_running_loop().create_future()
        if self.mode == "ack":
            done.set_result(None)
        elif self.mode == "refuse":
            done.set_exception(NotEnoughReplicasError())
        return done


def _event_at_home(lane: int) -> IntakeEvent:
    """An intake whose key's home lane is `lane`."""
    router = Router(LANES, suspect_s=10)
    return portal_event(next(c for c in (f"INC-{i:04d}" for i in range(1000)) if router.plan(c.encode())[0] == lane))


def _bus(producers: list[Producer], hedge_after_ms: int = 50, max_hedged: int = 64) -> KafkaIntakeBus:
    return connected_bus(producers, LANES, hedge_after_ms=hedge_after_ms, max_hedged=max_hedged)


async def _publish(bus: KafkaIntakeBus, event: IntakeEvent, within_s: float = 5) -> None:
    """Publish, failing the test if it is still waiting after `within_s` (far below ack_timeout_s)."""
    await asyncio.wait_for(bus.publish([event]), within_s)


def test_a_healthy_home_lane_is_the_only_one_written() -> None:
    producers = [Producer("ack"), Producer("ack"), Producer("ack")]

    async def scenario() -> None:
        await _publish(_bus(producers), _event_at_home(1))

    asyncio.run(scenario())
    assert [p.sent for p in producers] == [[], [producers[1].sent[0]], []]
    assert producers[1].sent[0] in LANES[1]


def test_a_stalled_home_lane_is_hedged_onto_the_others_and_then_skipped() -> None:
    producers = [Producer("hang"), Producer("ack"), Producer("hang")]

    async def scenario() -> None:
        bus = _bus(producers)
        await _publish(bus, _event_at_home(0))  # would wait 30 s for lane 0
        assert producers[0].sent and producers[1].sent, "home first, then hedged"
        before = len(producers[0].sent)
        await _publish(bus, _event_at_home(0))
        assert len(producers[0].sent) == before, "a lane that lost the race is not tried first again"

    asyncio.run(scenario())
    assert all(p in LANES[1] for p in producers[1].sent)


def test_a_home_lane_that_refuses_is_hedged_at_once_not_after_the_delay() -> None:
    producers = [Producer("refuse"), Producer("ack"), Producer("ack")]

    async def scenario() -> None:
        await _publish(_bus(producers, hedge_after_ms=10_000), _event_at_home(0), within_s=2)

    asyncio.run(scenario())
    assert producers[1].sent or producers[2].sent


def test_when_every_lane_refuses_the_client_is_told_to_retry() -> None:
    producers = [Producer("refuse"), Producer("refuse"), Producer("refuse")]

    async def scenario() -> None:
        await _publish(_bus(producers), _event_at_home(2))

    with pytest.raises(Unavailable, match="NotEnoughReplicasError"):
        asyncio.run(scenario())
    assert all(p.sent for p in producers)


def test_each_event_keeps_its_own_tickets_partition_whatever_it_is_sent_with() -> None:
    producers = [Producer("ack"), Producer("ack"), Producer("ack")]
    a, b = _event_at_home(0), _event_at_home(1)

    async def scenario() -> None:
        bus = _bus(producers)
        await _publish(bus, b)  # alone
        await bus.publish([a, b])  # behind another ticket's event (an Alertmanager group)

    asyncio.run(scenario())
    where_b = [
        (i, p)
        for i, pr in enumerate(producers)
        for k, p in zip(pr.keys, pr.sent, strict=True)
        if k == b.partition_key.encode()
    ]
    assert len(where_b) == 2 and where_b[0] == where_b[1], where_b
    assert producers[0].keys == [a.partition_key.encode()]


def test_beyond_the_hedging_bound_an_intake_waits_for_its_home_lane() -> None:
    producers = [Producer("hang"), Producer("ack"), Producer("ack")]

    async def scenario() -> bool:
        bus = _bus(producers, max_hedged=0)
        waiting = asyncio.ensure_future(bus.publish([_event_at_home(0)]))
        done, _ = await asyncio.wait({waiting}, timeout=0.5)  # ten hedge delays
        waiting.cancel()
        return bool(done)

    assert not asyncio.run(scenario())
    assert producers[1].sent == [] and producers[2].sent == []


def test_a_lane_whose_isr_misses_a_replica_is_not_written_while_another_is_in_sync() -> None:
    """After the fence, Kafka's metadata says which pairs lost their second copy: their writes
    would be refused, so an intake homed there goes elsewhere at once, without a hedge."""
    producers = [Producer("hang"), Producer("ack"), Producer("ack")]
    layout = {0: ([1, 2], [2]), 3: ([2, 1], [2]), 1: ([2, 3], [2, 3]), 4: ([2, 3], [2, 3])}
    layout |= {2: ([1, 3], [1, 3]), 5: ([1, 3], [1, 3])}
    metadata = {p: SimpleNamespace(leader=r[0], replicas=r, isr=isr) for p, (r, isr) in layout.items()}
    producers[1].client = SimpleNamespace(cluster=SimpleNamespace(_partitions={"intake.v1": metadata}))  # type: ignore[attr-defined]

    async def scenario() -> None:
        await _publish(_bus(producers, hedge_after_ms=10_000), _event_at_home(0), within_s=2)

    asyncio.run(scenario())
    assert producers[0].sent == [], "the lane without its second copy was not written"
    assert producers[1].sent or producers[2].sent
