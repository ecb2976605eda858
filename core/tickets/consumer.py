"""The ticket service's Kafka consumer: one group spanning both sites.

Offsets are committed only after the database transaction that applied the events committed,
so a crash or a rebalance re-delivers at most the uncommitted tail, which the intake ledger
makes harmless. While PostgreSQL fails over, the consumer retries the same event with backoff
rather than skipping it: an acknowledged intake is never dropped.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from functools import partial

import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from prometheus_client import Counter, Histogram
from psycopg_pool import AsyncConnectionPool
from pydantic import ValidationError
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential

from core.intake.schemas import IntakeEvent
from core.kafka import METADATA_MAX_AGE_MS, start_when_reachable
from core.tickets import repository as repo
from core.tickets.applier import apply_intake
from core.tickets.planning import Policies

log = logging.getLogger(__name__)
# A failing-over database: connection refused or reset, a demoted primary, a hung one.
RETRIABLE = (psycopg.OperationalError, psycopg.errors.ReadOnlySqlTransaction, TimeoutError)
APPLIED = Counter("ccdr_tickets_intakes_applied_total", "Intake events applied", ["kind", "outcome"])
POISON = Counter("ccdr_tickets_poison_total", "Kafka messages that are not valid intake events")
APPLY_LAG = Histogram(
    "ccdr_tickets_apply_lag_seconds",
    "From intake receipt to ticket commit",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)


class IntakeConsumer:
    def __init__(
        self,
        *,
        bootstrap: list[str],
        topic: str,
        group: str,
        pool: AsyncConnectionPool,
        policies: Policies,
        max_batch: int,
        client_id: str,
        db_timeout_s: float = 15.0,
    ) -> None:
        self._pool = pool
        self._db_timeout_s = db_timeout_s
        self._policies = policies
        self._max_batch = max_batch
        self._make_consumer = partial(
            AIOKafkaConsumer,
            topic,
            bootstrap_servers=bootstrap,
            group_id=group,
            client_id=client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=max_batch,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=3_000,
            metadata_max_age_ms=METADATA_MAX_AGE_MS,
        )

    async def run(self) -> None:
        self._consumer = await start_when_reachable(self._make_consumer, "intake consumer")
        try:
            while True:
                batches = await self._consumer.getmany(timeout_ms=1000, max_records=self._max_batch)
                for tp, messages in batches.items():
                    for message in messages:
                        await self._apply_with_retry(tp, message.offset, message.value or b"")
                    await self._commit(tp, messages[-1].offset + 1)
        finally:
            await self._consumer.stop()

    async def _commit(self, tp: TopicPartition, next_offset: int) -> None:
        try:
            await self._consumer.commit({tp: next_offset})
        except (CommitFailedError, KafkaError) as exc:
            # The partition moved to another member during a rebalance; it re-applies (idempotently).
            log.warning("offset commit failed, the new owner re-applies: %s", exc)

    async def _apply_with_retry(self, tp: TopicPartition, offset: int, payload: bytes) -> None:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(RETRIABLE),
            wait=wait_exponential(multiplier=0.2, max=5),
            reraise=True,
            before_sleep=lambda s: log.warning(
                "database unavailable, retrying: %s", s.outcome and s.outcome.exception()
            ),
        ):
            with attempt:
                async with asyncio.timeout(self._db_timeout_s):  # a frozen primary must not hang us
                    await self._apply(tp, offset, payload)

    async def _apply(self, tp: TopicPartition, offset: int, payload: bytes) -> None:
        try:
            event = IntakeEvent.model_validate_json(payload)
        except ValidationError as exc:
            POISON.inc()
            log.error(
                "not an intake event, kept in poison_messages", extra={"partition": tp.partition, "offset": offset}
            )
            async with self._pool.connection() as conn, conn.transaction():
                await repo.record_poison(conn, tp.partition, offset, str(exc)[:2000], payload)
            return
        async with self._pool.connection() as conn, conn.transaction():
            outcome = await apply_intake(conn, event, tp.partition, offset, self._policies)
        APPLIED.labels(event.kind.value, outcome.value).inc()
        APPLY_LAG.observe((datetime.now(UTC) - event.received_at).total_seconds())
        log.info(
            "intake applied",
            extra={"intake_id": str(event.intake_id), "ticket_code": event.ticket_code, "outcome": outcome.value},
        )
