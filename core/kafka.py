"""Starting aiokafka clients the same way everywhere."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator, Callable
from functools import cache, partial
from typing import Any, Protocol, TypeVar

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaError, OutOfOrderSequenceNumber, ProducerFenced

from core.settings import KafkaAuth

log = logging.getLogger(__name__)
RETRY_S = 1.0
# aiokafka forgets its bootstrap list once it has metadata, and refreshes that only every 5 min
# or after an error. A client whose last refresh happened while a broker was away (a site
# restored minutes ago) knows one broker only; when that one dies it can reach no other, so
# intake stalled until the dead site came back (found by a site-loss drill under load). A short
# max age keeps every client's view of the brokers current, and of the leaders: a producer learns
# that a cut-off site's broker handed its leaders over within this (one small request per client).
METADATA_MAX_AGE_MS = 1_000


SASL_MECHANISM = "SCRAM-SHA-512"
# aiokafka's idempotent producer never recovers from these: a leader that truncated its log after a
# partition (the cut-off site's broker rejoining) no longer knows the producer's sequence numbers
# and answers OutOfOrderSequenceNumber to every later batch for that partition. Intake at both
# sites then refused every intake after isolate-a's heal (58.9 % availability, then none at all)
# until restarted. Only a new producer (a new producer id) gets past it.
PRODUCER_DEAD: tuple[type[KafkaError], ...] = (OutOfOrderSequenceNumber, ProducerFenced)
# An idempotent producer's stop flushes what it holds and retries without end: a producer Kafka gave
# up on, or one whose partitions cannot reach min.insync.replicas (an intake lane whose pair lost a
# site), would never stop. What it still held was not acknowledged, so nobody was promised it.
PRODUCER_STOP_S = 5.0


@cache
def _tls_context(ca_file: str) -> ssl.SSLContext:
    """One context per CA and process: verified certificates, names checked (the default)."""
    return ssl.create_default_context(cafile=ca_file)


def connection_options(auth: KafkaAuth | None) -> dict[str, Any]:
    """aiokafka keyword arguments that authenticate and encrypt a client as `auth` says (none:
    plaintext, as a lab made before Kafka had TLS)."""
    if auth is None:
        return {}
    return {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": SASL_MECHANISM,
        "sasl_plain_username": auth.username,
        "sasl_plain_password": auth.password.get_secret_value(),
        "ssl_context": _tls_context(auth.ca_file),
    }


class _Client(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


C = TypeVar("C", bound=_Client)


async def start_when_reachable(make: Callable[[], C], what: str) -> C:
    """Create and start a client, retrying until Kafka answers: services come up before Kafka
    does after a site restart. `make` runs here because aiokafka clients belong to the running
    loop, and a client whose start failed cannot be started again."""
    while True:
        client = make()
        try:
            await client.start()
        except KafkaError as exc:
            log.warning("%s: kafka not reachable yet: %s", what, exc)
            await client.stop()
            await asyncio.sleep(RETRY_S)
        else:
            log.info("%s: connected to kafka", what)
            return client


def acknowledged_producer(
    bootstrap: list[str],
    client_id: str,
    *,
    linger_ms: int,
    auth: KafkaAuth | None,
    request_timeout_ms: int | None = None,
    idempotent: bool = True,
) -> Callable[[], AIOKafkaProducer]:
    """A factory of producers whose acknowledgement is our promise: acks=all (every in-sync
    replica, so the other site too) and, unless told otherwise, idempotent (a retried send is
    written once). An idempotent producer never gives a batch up: it retries it until Kafka takes
    it, so a client that may write one record to several partitions, and de-duplicates
    downstream (intake's lanes), is better off without: its batches expire after
    `request_timeout_ms`."""
    extra = {} if request_timeout_ms is None else {"request_timeout_ms": request_timeout_ms}
    return partial(
        AIOKafkaProducer,
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=idempotent,
        linger_ms=linger_ms,
        metadata_max_age_ms=METADATA_MAX_AGE_MS,
        **connection_options(auth),
        **extra,
    )


class ProducerSlot:
    """The producer a component sends with, replaced when aiokafka has given up on it
    (`PRODUCER_DEAD`). The replacement gets a new producer id, so its sequence numbers start
    afresh. It runs once, in a task of its own: a caller's deadline cannot cancel it halfway (a
    stopped producer left in place would fail every send after it)."""

    def __init__(self, make: Callable[[], AIOKafkaProducer], what: str) -> None:
        self._make, self._what = make, what
        self.producer: AIOKafkaProducer | None = None  # None until connected, and while replaced
        self._renewal: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.producer = await start_when_reachable(self._make, self._what)

    @contextlib.asynccontextmanager
    async def using(self) -> AsyncIterator[AIOKafkaProducer]:
        """The current producer for one send and its acknowledgement. If Kafka refuses it for good
        there, its replacement starts in the background and the error goes on to the caller, who
        retries as for any Kafka error; meanwhile (no producer) this raises KafkaConnectionError."""
        producer = self.producer
        if producer is None:
            raise KafkaConnectionError(f"{self._what}: being replaced")
        try:
            yield producer
        except PRODUCER_DEAD as exc:
            self.renew(producer, exc)
            raise

    def renew(self, failed: AIOKafkaProducer | None, error: BaseException) -> asyncio.Task[None] | None:
        """Replace `failed`, unless it was replaced already; the task to wait on, if any."""
        if self._renewal is not None and not self._renewal.done():
            return self._renewal
        if failed is None or failed is not self.producer:
            return None
        self.producer = None
        self._renewal = asyncio.create_task(self._replace(failed, error))
        return self._renewal

    async def _replace(self, failed: AIOKafkaProducer, error: BaseException) -> None:
        log.error("%s: Kafka refused this producer for good (%s); starting a new one", self._what, type(error).__name__)
        try:
            await asyncio.wait_for(failed.stop(), PRODUCER_STOP_S)
        except Exception as exc:  # noqa: BLE001 -- it is dropped either way
            log.warning("%s: the failed producer did not stop cleanly: %r", self._what, exc)
        self.producer = await start_when_reachable(self._make, self._what)

    async def stop(self) -> None:
        if self._renewal is not None:
            self._renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewal
        if self.producer is not None:
            try:
                await asyncio.wait_for(self.producer.stop(), PRODUCER_STOP_S)
            except TimeoutError:
                log.warning("%s: not stopped within %.0f s; dropped", self._what, PRODUCER_STOP_S)
