"""The ticket worker's Kafka consumer: one group spanning both sites, a batch per partition.

Each poll's messages of one partition are applied in one transaction (core.tickets.domain.batch on a
snapshot read by core.tickets.store.batch_store), partitions in parallel, and the partition's offset is
committed only after that transaction committed: a crash or a rebalance re-delivers at most the
uncommitted tail, which the intake ledger makes harmless.

Nothing stalls the pipeline, by design:
- transient failures (the database failing over, a hung primary, Kafka away) retry the same
  batch with backoff for as long as it takes: an acknowledged intake is never skipped;
- anything else is a property of an event, not of the moment: undecodable and unstorable events
  are set aside before the transaction; if the batch still fails, it is applied again one event
  per transaction (core.tickets.store.applier) and the event that fails alone is set aside. Set-aside
  events go to the quarantine topic and table (core.tickets.store.quarantine) and the worker commits
  past them. No exception of an event's making can reach the process.

A reply or a cleared alert that names a ticket not there yet is held for it (core.tickets.domain.batch,
`Hold`): every `held_check_s`, the held events whose ticket appeared or whose hold ended are planned
again and applied, in a transaction that deletes their held rows. The held rows are in the same
transaction as the batch that held them, so committing past them in the topic loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord
from prometheus_client import Counter, Gauge, Histogram
from psycopg_pool import AsyncConnectionPool
from pydantic import ValidationError
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential

from core.database import answered_within
from core.errors import field_errors
from core.intake.domain.schemas import IntakeEvent
from core.intake.domain.storable import StoreLimits, describe, problems
from core.kafka import (
    METADATA_MAX_AGE_MS,
    ProducerSlot,
    acknowledged_producer,
    connection_options,
    start_when_reachable,
)
from core.settings import KafkaAuth
from core.tickets.domain.batch import Hold, Positioned, plan_batch
from core.tickets.domain.outcome import Outcome
from core.tickets.domain.planning import Policies
from core.tickets.store import held, quarantine
from core.tickets.store.applier import apply_intake
from core.tickets.store.batch_store import load_snapshot, write_batch
from core.tickets.store.quarantine import Reason, SetAside

log = logging.getLogger(__name__)
# A failing-over database (refused, reset, demoted, hung; a serialization or deadlock victim is an
# OperationalError too) or a Kafka that cannot take the quarantine record: retry, never skip.
# PostgreSQL ending a session idle in its transaction (an InternalError) rolled that transaction back.
TRANSIENT = (
    psycopg.OperationalError,
    psycopg.errors.ReadOnlySqlTransaction,
    psycopg.errors.IdleInTransactionSessionTimeout,
    TimeoutError,
    KafkaError,
)
APPLIED = Counter("ccdr_tickets_intakes_applied_total", "Intake events applied", ["kind", "outcome"])
QUARANTINED = Counter("ccdr_tickets_quarantined_total", "Intake events set aside in the quarantine", ["reason"])
BATCHES = Counter("ccdr_tickets_batches_total", "Partition batches applied", ["path"])
BATCH_SIZE = Histogram(
    "ccdr_tickets_batch_events", "Events per partition batch", buckets=(1, 2, 5, 10, 25, 50, 100, 200, 500, 1000)
)
BATCH_SECONDS = Histogram(
    "ccdr_tickets_batch_seconds",
    "One partition batch: snapshot, plan, write and commit",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LAG_EVENTS = Gauge(
    "ccdr_tickets_consumer_lag_events", "Intake events on the partition not yet applied by this site", ["partition"]
)
PARTITIONS_HELD_METRIC = "ccdr_tickets_partitions_held"  # `ccdr lab up` waits until the sites' figures cover the topic
PARTITIONS_HELD = Gauge(
    PARTITIONS_HELD_METRIC, "Intake partitions assigned to this site's worker by the consumer group"
)
LAG_SECONDS = Gauge(
    "ccdr_tickets_consumer_lag_seconds", "Intake receipt to ticket commit of the newest batch this site applied"
)
APPLY_LAG = Histogram(
    "ccdr_tickets_apply_lag_seconds",
    "From intake receipt to ticket commit",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
T = TypeVar("T")
Decided = tuple[list[tuple[IntakeEvent, Outcome]], list[SetAside]]  # applied (or duplicates), and set aside
RETRY_MAX_S = 1.0  # a retry costs one connection attempt; waiting longer only delays the catch-up


@dataclass(frozen=True)
class WorkerTuning:
    """How the consumer polls and how long one database attempt may take."""

    max_batch: int
    session_timeout_ms: int
    heartbeat_interval_ms: int
    request_timeout_ms: int
    db_timeout_s: float
    hold_s: float  # a reply or cleared alert naming a ticket not there yet waits this long for it
    held_check_s: float  # how often the held events are looked at
    poll_timeout_ms: int = 500


def decode(message: ConsumerRecord[Any, Any], limits: StoreLimits) -> Positioned | SetAside:
    """The message as an intake event, or why it will never be one."""
    payload: bytes = message.value or b""
    try:
        event = IntakeEvent.model_validate_json(payload)
    except ValidationError as exc:
        return SetAside(message.partition, message.offset, Reason.UNDECODABLE, _validation_summary(exc), payload)
    found = problems(event, event.received_at, limits)
    if found:
        return SetAside(message.partition, message.offset, Reason.UNSTORABLE, describe(found), payload, event.intake_id)
    return Positioned(event, message.partition, message.offset)


def _validation_summary(exc: ValidationError) -> str:
    """'field: message' for the first few errors, e.g. 'schema_version: Input should be 1'."""
    shown = [f"{e.field}: {e.message}" for e in field_errors(exc.errors()[:3])]
    more = f" (+{exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
    return "not an intake.v1 event: " + "; ".join(shown) + more


def _first_line(text: str) -> str:
    return " ".join(text.split())


def _rejected(item: Positioned, exc: Exception) -> SetAside:
    """An event that failed alone (read from the topic, or held), set aside with its error."""
    error = f"{type(exc).__name__}: {_first_line(str(exc))}"
    log.error(
        "intake event set aside: %s",
        error[:300],
        extra={"intake_id": str(item.event.intake_id), "partition": item.partition, "offset": item.offset},
    )
    payload = item.event.model_dump_json().encode()
    return SetAside(item.partition, item.offset, Reason.REJECTED, error, payload, item.event.intake_id)


class IntakeConsumer:
    """`worker` names this worker in set-aside records; `member` is its static member id in the
    group, one per process (Kafka fences the older of two members that share one)."""

    def __init__(
        self,
        *,
        bootstrap: list[str],
        auth: KafkaAuth | None,
        topic: str,
        quarantine_topic: str,
        group: str,
        pool: AsyncConnectionPool[Any],
        policies: Policies,
        limits: StoreLimits,
        tuning: WorkerTuning,
        client_id: str,
        worker: str,
        member: str,
    ) -> None:
        self._pool = pool
        self._policies = policies
        self._limits = limits
        self._tuning = tuning
        self._quarantine_topic = quarantine_topic
        self._worker = worker
        self._make_consumer = partial(
            AIOKafkaConsumer,
            topic,
            bootstrap_servers=bootstrap,
            group_id=group,
            # A static member (KIP-345): a worker that rejoins after its session
            # expired (a thaw, a heal, a restart) replaces its old self at once. As a dynamic
            # member it rejoined under a new id, and the coordinator waited out the old id's
            # session first, twice in a row in one freeze-a's thaw: tickets ~10-12 s late.
            group_instance_id=member,
            client_id=client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=tuning.max_batch,
            session_timeout_ms=tuning.session_timeout_ms,
            heartbeat_interval_ms=tuning.heartbeat_interval_ms,
            request_timeout_ms=tuning.request_timeout_ms,
            metadata_max_age_ms=METADATA_MAX_AGE_MS,
            **connection_options(auth),
        )
        self._quarantine = ProducerSlot(
            acknowledged_producer(bootstrap, f"{client_id}-quarantine", linger_ms=0, auth=auth), "quarantine producer"
        )
        self._next: dict[TopicPartition, int] = {}  # the next offset to apply, per partition we applied

    async def run(self) -> None:
        await self._quarantine.start()
        await self._retrying(self._primary_answers)
        self._consumer = await start_when_reachable(self._make_consumer, "intake consumer")
        releasing = asyncio.create_task(self._release_held_forever(), name="held events")
        try:
            while True:
                batches = await self._consumer.getmany(
                    timeout_ms=self._tuning.poll_timeout_ms, max_records=self._tuning.max_batch
                )
                # Partitions in parallel: each waits on its own commit (synchronous replication).
                # One that fails cancels the others (their offsets stay uncommitted: re-applied).
                async with asyncio.TaskGroup() as group:
                    for tp, messages in batches.items():
                        group.create_task(self._partition(tp, messages))
                await self._export_lag()
                if releasing.done():  # it runs as long as the worker: ended, it failed (the worker restarts)
                    releasing.result()
                    raise RuntimeError("the held events' loop returned")
        finally:
            releasing.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # its failure, if any, is raised above
                await releasing
            await self._consumer.stop()
            await self._quarantine.stop()

    async def _primary_answers(self) -> None:
        """Join the group only once this worker can apply what it would be given: a member that
        joins and cannot reach the primary (a site coming back while the machine catches up) holds
        partitions it cannot apply, and its slow batches and rejoins stall the other site's too."""
        async with self._pool.connection() as conn:
            await conn.execute("SELECT 1")

    async def _partition(self, tp: TopicPartition, messages: list[ConsumerRecord[Any, Any]]) -> None:
        decoded = [decode(m, self._limits) for m in messages]
        items = [d for d in decoded if isinstance(d, Positioned)]
        aside = [d for d in decoded if isinstance(d, SetAside)]
        BATCH_SIZE.observe(len(messages))
        with BATCH_SECONDS.time():
            try:
                outcomes = await self._retrying(lambda: self._apply_batch(items, aside), bounded=False)
                BATCHES.labels("batch").inc()
            except Exception as exc:  # noqa: BLE001 -- an event's own fault: find it, never stall on it
                log.warning(
                    "batch refused (%s); applying its %d events one by one to isolate the cause",
                    _first_line(repr(exc))[:300],
                    len(items),
                    extra={"partition": tp.partition, "first_offset": messages[0].offset},
                )
                outcomes = await self._apply_one_by_one(items, aside)
                BATCHES.labels("one_by_one").inc()
        # Once, after the rows committed (a crash before this re-delivers the batch, which
        # quarantines its events again: ON CONFLICT keeps one row, the topic gets them again).
        await self._retrying(lambda: self._publish_quarantine(aside))
        self._observe(outcomes, aside)
        await self._commit(tp, messages[-1].offset + 1)

    async def _retrying(self, attempt_once: Callable[[], Awaitable[T]], *, bounded: bool = True) -> T:
        """Retry transient failures for as long as it takes; raise anything else at once. Each
        attempt gets `db_timeout_s` (a frozen primary or broker must not hang us), unless it bounds
        itself (`bounded=False`: a batch closes its connection instead, `answered_within`, since
        cancelling a query at a frozen server makes psycopg wait up to 10 s more for it)."""
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(TRANSIENT),
            wait=wait_exponential(multiplier=0.1, max=RETRY_MAX_S),
            reraise=True,
            before_sleep=lambda s: log.warning(
                "database or broker unavailable, retrying: %s", s.outcome and s.outcome.exception()
            ),
        ):
            with attempt:
                async with asyncio.timeout(self._tuning.db_timeout_s if bounded else None):
                    return await attempt_once()
        raise AssertionError("unreachable: tenacity re-raises the last error")

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection in a transaction, closed if the database has not answered within
        `db_timeout_s` (`answered_within`: a frozen primary must not hang the batch)."""
        async with (
            self._pool.connection() as conn,
            answered_within(conn, self._tuning.db_timeout_s),
            conn.transaction(),
        ):
            yield conn

    async def _apply_batch(self, items: list[Positioned], aside: list[SetAside]) -> list[tuple[IntakeEvent, Outcome]]:
        async with self._transaction() as conn:
            outcomes: list[tuple[IntakeEvent, Outcome]] = []
            if items:
                snap = await load_snapshot(conn, items)
                writes = plan_batch(items, snap, self._policies, self._hold())
                await write_batch(conn, writes)
                outcomes = writes.outcomes
            await quarantine.record(conn, aside, self._worker)
        return outcomes

    async def _apply_one_by_one(
        self, items: list[Positioned], aside: list[SetAside]
    ) -> list[tuple[IntakeEvent, Outcome]]:
        outcomes: list[tuple[IntakeEvent, Outcome]] = []
        for item in items:
            try:
                outcome = await self._retrying(partial(self._apply_one, item), bounded=False)
            except Exception as exc:  # noqa: BLE001 -- this event alone fails: set it aside, go on
                aside.append(_rejected(item, exc))
            else:
                outcomes.append((item.event, outcome))
        await self._retrying(lambda: self._apply_batch([], aside), bounded=False)
        return outcomes

    async def _apply_one(self, item: Positioned) -> Outcome:
        try:
            return await self._apply_one_once(item)
        except psycopg.errors.UniqueViolation:
            # The other site's worker applied a copy of this intake at the same moment (intake may
            # write one to several partitions: core.intake.kafka.routing). Once more: the ledger now
            # says so, a duplicate. A second violation is the event's own.
            return await self._apply_one_once(item)

    async def _apply_one_once(self, item: Positioned) -> Outcome:
        async with self._transaction() as conn:
            return await apply_intake(conn, item.event, item.partition, item.offset, self._policies, self._hold())

    def _hold(self) -> Hold:
        return Hold(now=datetime.now(UTC), wait_s=self._tuning.hold_s)

    async def _release_held_forever(self) -> None:
        """Apply the held events that may be decided now, every `held_check_s`. A database away is
        retried; an event that cannot be applied is set aside, as one read from the topic would be."""
        while True:
            await asyncio.sleep(self._tuning.held_check_s)
            try:
                outcomes, aside = await self._retrying(self._release_held, bounded=False)
            except Exception as exc:  # noqa: BLE001 -- an event's own fault: find it, never stall on it
                log.warning("held events refused (%s); deciding them one by one", _first_line(repr(exc))[:300])
                outcomes, aside = await self._release_one_by_one()
            # Once, after the rows committed; unlike a topic's event, a held one is not read again
            # if the worker dies before this: its quarantine row is what keeps it.
            await self._retrying(partial(self._publish_quarantine, aside))
            self._observe(outcomes, aside, lag=False)  # a released event's age is its hold, not a lag

    async def _release_held(self) -> Decided:
        async with self._transaction() as conn:
            claimed = await held.claim(conn, self._tuning.max_batch)
            return await self._decide_held(conn, claimed)

    async def _decide_held(self, conn: psycopg.AsyncConnection[Any], claimed: held.Claimed) -> Decided:
        aside = [
            SetAside(u.partition, u.offset, Reason.UNDECODABLE, u.error, u.payload, u.intake_id)
            for u in claimed.unreadable
        ]
        if aside:
            await quarantine.record(conn, aside, self._worker)
            await held.release(conn, [u.intake_id for u in claimed.unreadable])
        if not claimed.items:
            return [], aside
        snap = await load_snapshot(conn, claimed.items)
        # The database's clock, which found their hold over, decides it again (not this host's).
        hold = Hold(now=claimed.now, wait_s=self._tuning.hold_s)
        writes = plan_batch(claimed.items, snap, self._policies, hold, claimed.until)
        await write_batch(conn, writes)
        return [(e, o) for e, o in writes.outcomes if o is not Outcome.HELD], aside

    async def _release_one_by_one(self) -> Decided:
        """Each due held event in a transaction of its own (at most a batch's worth); one that fails
        alone is set aside and its held row deleted, in that transaction."""
        outcomes: list[tuple[IntakeEvent, Outcome]] = []
        aside: list[SetAside] = []
        for _ in range(self._tuning.max_batch):
            decided = await self._retrying(self._release_one, bounded=False)
            if decided is None:
                break
            outcomes.extend(decided[0])
            aside.extend(decided[1])
        return outcomes, aside

    async def _release_one(self) -> Decided | None:
        async with self._transaction() as conn:
            claimed = await held.claim(conn, 1)
            if not claimed.items and not claimed.unreadable:
                return None
            try:
                async with conn.transaction():  # a savepoint: its failure leaves the claim usable
                    return await self._decide_held(conn, claimed)
            except TRANSIENT:
                raise
            except Exception as exc:  # noqa: BLE001 -- this event alone fails: set it aside, go on
                item = claimed.items[0]
                set_aside = _rejected(item, exc)
                await quarantine.record(conn, [set_aside], self._worker)
                await held.release(conn, [item.event.intake_id])
                return [], [set_aside]

    async def _publish_quarantine(self, aside: list[SetAside]) -> None:
        """Each set-aside event on the quarantine topic too (acks=all), once its table row committed."""
        if not aside:
            return
        async with self._quarantine.using() as producer:  # a KafkaError, retried by _retrying
            pending = []
            for item in aside:
                headers = [
                    ("reason", item.reason.value.encode()),
                    ("error", item.error[: quarantine.ERROR_MAX_CHARS].encode("utf-8", "replace")),
                    ("source", json.dumps({"partition": item.partition, "offset": item.offset}).encode()),
                ]
                key = f"{item.partition}:{item.offset}".encode()
                pending.append(await producer.send(self._quarantine_topic, item.payload, key=key, headers=headers))
            await asyncio.gather(*pending)

    def _observe(self, outcomes: list[tuple[IntakeEvent, Outcome]], aside: list[SetAside], *, lag: bool = True) -> None:
        now = datetime.now(UTC)
        for event, outcome in outcomes:
            APPLIED.labels(event.kind.value, outcome.value).inc()
            if lag and outcome not in (Outcome.DUPLICATE, Outcome.HELD):
                APPLY_LAG.observe((now - event.received_at).total_seconds())
        if outcomes and lag:
            LAG_SECONDS.set((now - max(e.received_at for e, _ in outcomes)).total_seconds())
        for item in aside:
            QUARANTINED.labels(item.reason.value).inc()
            log.error(
                "intake event quarantined (%s): %s",
                item.reason.value,
                item.error[:300],
                extra={"partition": item.partition, "offset": item.offset},
            )

    async def _export_lag(self) -> None:
        """Events behind the partitions' high watermarks, for the partitions this member holds
        (a partition it has not applied anything from yet: from the group's committed offset)."""
        for tp in self._consumer.assignment() - self._next.keys():
            with contextlib.suppress(KafkaError):
                committed = await self._consumer.committed(tp)
                if committed is not None:
                    self._next[tp] = committed
        # Read again after those awaits: a rebalance may have taken partitions meanwhile, and asking
        # for the high watermark of a partition no longer held is an error (it crashed the worker).
        assigned = self._consumer.assignment()
        PARTITIONS_HELD.set(len(assigned))
        for tp in list(self._next):
            if tp not in assigned:
                del self._next[tp]
                with contextlib.suppress(KeyError):  # never exported: no high watermark seen yet
                    LAG_EVENTS.remove(str(tp.partition))
        for tp in assigned:
            highwater, applied = self._consumer.highwater(tp), self._next.get(tp)
            if highwater is not None and applied is not None:
                LAG_EVENTS.labels(str(tp.partition)).set(max(0, highwater - applied))

    async def _commit(self, tp: TopicPartition, next_offset: int) -> None:
        self._next[tp] = next_offset
        try:
            await self._consumer.commit({tp: next_offset})
        except (CommitFailedError, KafkaError) as exc:
            # The partition moved to another member during a rebalance; it re-applies (idempotently).
            log.warning("offset commit failed, the new owner re-applies: %s", exc)
