"""Kafka adapter of intake: publish events with acks=all, or say clearly that we could not.

Contract (`IntakeBus`): `publish` returns only after every event is acknowledged by all
in-sync replicas; it raises `Unavailable` when that did not happen within the deadline. An
`Unavailable` outcome is *unknown*, not *absent*: the idempotent producer may still deliver,
which is why clients retry with the same key and the ticket service deduplicates by intake id.

A stalled lane is hedged (`routing.py`): after `hedge_after_ms` the events go out through every
other lane too, so one intake may be written more than once, each copy acknowledged or not; the
ticket worker applies an intake id once, whichever copy it reads first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError, KafkaError
from prometheus_client import Counter

from core.errors import Unavailable
from core.intake.domain.schemas import IntakeEvent
from core.intake.kafka.routing import Router, lanes_of
from core.kafka import ProducerSlot, acknowledged_producer, connection_options, start_when_reachable
from core.settings import KafkaAuth

log = logging.getLogger(__name__)
HEDGED = Counter("ccdr_intake_hedged_total", "Intakes sent through every other lane because their home lane was slow")
LANE_FAILED = Counter(
    "ccdr_intake_lane_failures_total", "Sends through one lane that Kafka refused or that lost a hedge"
)


class IntakeBus(Protocol):
    async def publish(self, events: Sequence[IntakeEvent]) -> None: ...

    def not_ready(self) -> str | None: ...


def encode(event: IntakeEvent) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Kafka key, value and headers of one event."""
    headers = [("schema", b"intake.v1"), ("channel", event.channel.value.encode())]
    return event.partition_key.encode(), event.model_dump_json().encode(), headers


@dataclass(frozen=True)
class Lane:
    """The partitions of one replica set and preferred leader, and the producer that writes them:
    its own connections, so a request stalled at one broker (aiokafka sends one request per broker
    at a time) holds up no other lane."""

    slot: ProducerSlot
    partitions: tuple[int, ...]


class _Admin:
    """An admin client with the start/stop of the others, for `start_when_reachable`."""

    def __init__(self, bootstrap: list[str], auth: KafkaAuth | None, request_timeout_ms: int) -> None:
        self.client = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=request_timeout_ms, **connection_options(auth)
        )

    async def start(self) -> None:
        await self.client.start()

    async def stop(self) -> None:
        await self.client.close()


def _replicas(described: list[Any], topic: str) -> dict[int, list[int]]:
    for entry in described:
        if entry.get("topic") == topic and not entry.get("error_code") and entry.get("partitions"):
            return {p["partition"]: list(p["replicas"]) for p in entry["partitions"]}
    raise KafkaError(f"topic {topic} not described yet")


def _partition_metadata(producer: AIOKafkaProducer | None, topic: str) -> dict[int, Any]:
    cluster = getattr(getattr(producer, "client", None), "cluster", None)
    found = getattr(cluster, "_partitions", {}).get(topic)
    return found if isinstance(found, dict) else {}


def _missing_replica(partition: Any) -> bool:
    if partition is None:
        return False
    return getattr(partition, "leader", 0) == -1 or set(getattr(partition, "isr", ())) < set(
        getattr(partition, "replicas", ())
    )


def _outcome(attempt: asyncio.Future[None]) -> BaseException | None:
    """A finished send's error (None: acknowledged); one cancelled under us counts as a failure."""
    if attempt.cancelled():
        return KafkaConnectionError("the send was cancelled")
    return attempt.exception()


class KafkaIntakeBus:
    def __init__(
        self,
        bootstrap: list[str],
        topic: str,
        *,
        auth: KafkaAuth | None,
        ack_timeout_s: float,
        retry_after_s: int,
        request_timeout_ms: int,
        hedge_after_ms: int,
        suspect_s: float,
        max_hedged: int,
        client_id: str,
    ) -> None:
        self._bootstrap, self._auth = bootstrap, auth
        self._topic = topic
        self._ack_timeout_s = ack_timeout_s
        self._retry_after_s = retry_after_s
        self._request_timeout_ms = request_timeout_ms
        self._hedge_after_s = hedge_after_ms / 1000
        self._suspect_s = suspect_s
        # Hedged publishes at once: when every lane is slow (overload, not a lost site) hedging
        # would multiply the load on Kafka and the ticket worker; beyond this, intakes just wait.
        self._max_hedged = max_hedged
        self._hedging = 0
        # Not idempotent: an idempotent producer retries a batch until Kafka takes it, and a lane
        # whose pair lost a site cannot take it until the site is back: each intake process sent
        # ~20 futile requests a second for the whole outage (the brokers logged 40
        # NotEnoughReplicas errors a second). Without, a batch expires after request_timeout_ms. A
        # retry may write an intake twice; the ticket worker applies an intake id once, as it does
        # for a hedge's copies. Order holds: aiokafka sends one request per broker at a time.
        self._make: Callable[[], AIOKafkaProducer] = acknowledged_producer(
            bootstrap, client_id, linger_ms=2, auth=auth, request_timeout_ms=request_timeout_ms, idempotent=False
        )
        self._lanes: list[Lane] = []  # none until connected
        self._router: Router | None = None
        self._starter: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        """Connect in the background: intake must come up even while Kafka is still starting."""
        self._loop = asyncio.get_running_loop()
        self._starter = asyncio.create_task(self._connect())

    def begin_stopping(self) -> None:
        """The process was told to stop (a site stepping aside, a restart): every publish still
        waiting answers 503 now, so its client retries at the other site at once. Safe to call from
        a signal handler."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)

    async def _connect(self) -> None:
        """One lane per replica set and preferred leader of the topic's partitions, as Kafka
        describes them (the layout is fixed when the topic is created)."""
        while True:
            admin = await start_when_reachable(
                lambda: _Admin(self._bootstrap, self._auth, self._request_timeout_ms), "intake topic layout"
            )
            try:
                replicas = _replicas(await admin.client.describe_topics([self._topic]), self._topic)
                break
            except Exception as exc:  # noqa: BLE001 -- never leave intake unconnected for good: retry
                log.warning("intake: cannot read the intake topic's layout yet: %r", exc)
            finally:
                await admin.stop()
            await asyncio.sleep(1)
        sets = lanes_of(replicas)
        lanes = [
            Lane(
                ProducerSlot(
                    self._make,
                    f"intake producer, lane {i} (brokers {sorted(set(replicas[ps[0]]))}, led by {replicas[ps[0]][0]})",
                ),
                ps,
            )
            for i, ps in enumerate(sets)
        ]
        await asyncio.gather(*(lane.slot.start() for lane in lanes))
        self.use(lanes)
        log.info("intake: %d lanes over the intake topic's replica sets and leaders: %s", len(lanes), sets)

    def use(self, lanes: list[Lane]) -> None:
        """Send through these lanes from now on (connected; tests give their own)."""
        self._router = Router([lane.partitions for lane in lanes], self._suspect_s)
        self._lanes = lanes

    async def stop(self) -> None:
        if self._starter:
            self._starter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starter
        # Concurrently, each bounded (ProducerSlot.stop): a lane whose pair lost a site cannot flush.
        await asyncio.gather(*(lane.slot.stop() for lane in self._lanes))

    def not_ready(self) -> str | None:
        if self._stopping.is_set():
            return "stopping"
        if not any(lane.slot.producer is not None for lane in self._lanes):
            return "kafka producer not connected"
        return None

    async def publish(self, events: Sequence[IntakeEvent]) -> None:
        router = self._router
        if router is None or self.not_ready() == "kafka producer not connected":
            raise Unavailable("the event bus is not connected yet; retry shortly", self._retry_after_s)
        if self._stopping.is_set():
            raise Unavailable("this site is stopping; retry with the same Idempotency-Key", self._retry_after_s)
        # Each event by its own key (a ticket's events keep one partition whatever they arrive with);
        # the events that share a plan go out together.
        groups: dict[tuple[int, ...], list[IntakeEvent]] = {}
        unsynced = self._unsynced() if len(self._lanes) > 1 else set()
        for event in events:
            groups.setdefault(tuple(router.plan(event.partition_key.encode(), unsynced)), []).append(event)
        try:
            async with asyncio.timeout(self._ack_timeout_s):
                await asyncio.gather(*(self._hedged(router, list(order), group) for order, group in groups.items()))
        except TimeoutError:
            raise Unavailable(
                f"the event bus did not acknowledge within {self._ack_timeout_s:g} s; "
                "retry with the same Idempotency-Key",
                self._retry_after_s,
            ) from None
        except KafkaError as exc:
            raise Unavailable(
                f"the event bus refused the event ({type(exc).__name__}); retry with the same Idempotency-Key",
                self._retry_after_s,
            ) from None

    async def _hedged(self, router: Router, order: list[int], events: Sequence[IntakeEvent]) -> None:
        """Through the first lane of `order`; through all the others too once that one failed or
        was not acknowledged within the hedge delay. Returns at the first lane acknowledged."""
        stopping = asyncio.ensure_future(self._stopping.wait())
        attempts = {asyncio.ensure_future(self._send(router, order[0], events)): order[0]}
        hedged = len(order) == 1
        counted = False  # in self._hedging
        error: BaseException | None = None
        try:
            while True:
                done, _ = await asyncio.wait(
                    {*attempts, stopping},
                    timeout=None if hedged else self._hedge_after_s,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if stopping in done:
                    raise Unavailable(
                        "this site is stopping before the event bus acknowledged; retry with the same Idempotency-Key",
                        self._retry_after_s,
                    )
                for attempt in [a for a in attempts if a in done]:
                    lane = attempts.pop(attempt)
                    error = _outcome(attempt)
                    if error is None:
                        if lane != order[0] and not router.is_suspect(order[0]):
                            LANE_FAILED.inc()  # the home lane lost the race: the next intakes skip it
                            router.suspect(order[0])
                        return
                    LANE_FAILED.inc()
                    router.suspect(lane)
                slow_or_failed = not done or not attempts
                if not hedged and slow_or_failed and self._hedging < self._max_hedged:  # every other lane now
                    hedged = counted = True
                    self._hedging += 1
                    HEDGED.inc()
                    attempts |= {asyncio.ensure_future(self._send(router, lane, events)): lane for lane in order[1:]}
                elif not hedged and slow_or_failed:  # hedging is at its bound: wait for the home lane
                    hedged = True
                if not attempts:
                    assert error is not None
                    raise error
        finally:  # also on the deadline: nothing is left waiting
            if counted:
                self._hedging -= 1
            stopping.cancel()
            for attempt in attempts:
                if attempt.done():
                    _outcome(attempt)  # retrieved: a late failure of a lane not needed any more
                else:
                    attempt.cancel()

    def _unsynced(self) -> set[int]:
        """Lanes with a partition whose ISR misses one of its replicas, as the producers' metadata
        (at most METADATA_MAX_AGE_MS old) says: with min.insync.replicas equal to the pair, Kafka
        refuses their writes until the replica is back. aiokafka keeps the ISR but offers no public
        accessor; without it, every lane counts as in sync (the hedge still finds the way)."""
        for lane in self._lanes:
            partitions = _partition_metadata(lane.slot.producer, self._topic)
            if partitions:
                return {
                    i
                    for i, other in enumerate(self._lanes)
                    if any(_missing_replica(partitions.get(p)) for p in other.partitions)
                }
        return set()

    async def _send(self, router: Router, lane: int, events: Sequence[IntakeEvent]) -> None:
        # One producer for the whole send; one Kafka refused for good is replaced meanwhile.
        async with self._lanes[lane].slot.using() as producer:
            pending = []
            for event in events:
                key, value, headers = encode(event)
                partition = router.partition(lane, key)
                pending.append(
                    await producer.send(self._topic, value=value, key=key, headers=headers, partition=partition)
                )
            await asyncio.gather(*pending)
