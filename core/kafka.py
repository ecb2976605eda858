"""Starting aiokafka clients the same way everywhere."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from functools import cache, partial
from typing import Any, Protocol, TypeVar

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, OutOfOrderSequenceNumber, ProducerFenced

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
# aiokafka's idempotent producer gives up for good on these: its sender stops and every later send
# raises the same error. A leader that truncated its log after a partition (the cut-off site's
# broker rejoining) answers OutOfOrderSequenceNumber; intake at the other site then refused every
# intake for ~50 s (isolate-a drill, 58.9 % availability) until something restarted it.
PRODUCER_DEAD: tuple[type[KafkaError], ...] = (OutOfOrderSequenceNumber, ProducerFenced)


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
) -> Callable[[], AIOKafkaProducer]:
    """A factory of producers whose acknowledgement is our promise: acks=all (every in-sync
    replica, so the other site too) and idempotent (a retried send is written once)."""
    extra = {} if request_timeout_ms is None else {"request_timeout_ms": request_timeout_ms}
    return partial(
        AIOKafkaProducer,
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=linger_ms,
        metadata_max_age_ms=METADATA_MAX_AGE_MS,
        **connection_options(auth),
        **extra,
    )


async def renew_producer(old: _Client | None, make: Callable[[], C], what: str, error: BaseException) -> C:
    """A new producer in place of one that aiokafka has given up on (`PRODUCER_DEAD`): the new one
    gets a new producer id, so its sequence numbers start afresh."""
    log.error("%s: the producer failed for good (%s); starting a new one", what, type(error).__name__)
    try:
        if old is not None:
            await old.stop()
    except Exception as exc:  # noqa: BLE001 -- a dead producer's stop may fail too; it is dropped either way
        log.warning("%s: stopping the failed producer: %s", what, exc)
    return await start_when_reachable(make, what)
