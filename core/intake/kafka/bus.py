"""Kafka adapter of intake: publish events with acks=all, or say clearly that we could not.

Contract (`IntakeBus`): `publish` returns only after every event is acknowledged by all
in-sync replicas; it raises `Unavailable` when that did not happen within the deadline. An
`Unavailable` outcome is *unknown*, not *absent*: the idempotent producer may still deliver,
which is why clients retry with the same key and the ticket service deduplicates by intake id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from aiokafka.errors import KafkaError

from core.errors import Unavailable
from core.intake.domain.schemas import IntakeEvent
from core.kafka import ProducerSlot, acknowledged_producer
from core.settings import KafkaAuth

log = logging.getLogger(__name__)


class IntakeBus(Protocol):
    async def publish(self, events: Sequence[IntakeEvent]) -> None: ...

    def not_ready(self) -> str | None: ...


def encode(event: IntakeEvent) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Kafka key, value and headers of one event."""
    headers = [("schema", b"intake.v1"), ("channel", event.channel.value.encode())]
    return event.partition_key.encode(), event.model_dump_json().encode(), headers


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
        client_id: str,
    ) -> None:
        self._topic = topic
        self._ack_timeout_s = ack_timeout_s
        self._retry_after_s = retry_after_s
        self._slot = ProducerSlot(
            acknowledged_producer(bootstrap, client_id, linger_ms=2, auth=auth, request_timeout_ms=request_timeout_ms),
            "intake producer",
        )
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
        await self._slot.start()

    async def stop(self) -> None:
        if self._starter:
            self._starter.cancel()
        await self._slot.stop()

    def not_ready(self) -> str | None:
        if self._stopping.is_set():
            return "stopping"
        return None if self._slot.producer is not None else "kafka producer not connected"

    async def publish(self, events: Sequence[IntakeEvent]) -> None:
        if self._slot.producer is None:
            raise Unavailable("the event bus is not connected yet; retry shortly", self._retry_after_s)
        if self._stopping.is_set():
            raise Unavailable("this site is stopping; retry with the same Idempotency-Key", self._retry_after_s)
        try:
            # One producer for the whole request; one Kafka refused for good is replaced meanwhile.
            async with self._slot.using() as producer, asyncio.timeout(self._ack_timeout_s):
                pending = []
                for event in events:
                    key, value, headers = encode(event)
                    pending.append(await producer.send(self._topic, value=value, key=key, headers=headers))
                acked = asyncio.ensure_future(asyncio.gather(*pending))
                stopping = asyncio.ensure_future(self._stopping.wait())
                try:
                    await asyncio.wait({acked, stopping}, return_when=asyncio.FIRST_COMPLETED)
                finally:  # also on the deadline: nothing is left waiting
                    unacknowledged = not acked.done()
                    stopping.cancel()
                    if unacknowledged:
                        acked.cancel()
                if unacknowledged:
                    raise Unavailable(
                        "this site is stopping before the event bus acknowledged; retry with the same Idempotency-Key",
                        self._retry_after_s,
                    )
                acked.result()
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
