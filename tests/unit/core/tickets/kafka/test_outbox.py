"""The outbox relay's claim (a transaction) never outlives its bound on Kafka's acknowledgement,
and nothing it could not publish is marked published."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

import core.kafka
from core.tickets.kafka.outbox import OutboxRelay
from tests.unit.core.kafka_fakes import DeadProducer

ROW: tuple[Any, ...] = (1, "INC-0001", 1, "created", "system", datetime(2026, 12, 6, tzinfo=UTC), {}, None)


class Cursor:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    async def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows


class Connection:
    def __init__(self) -> None:
        self.statements: list[str] = []
        self.committed = False

    async def execute(self, sql: str, params: object = None) -> Cursor:
        self.statements.append(sql.split()[0])
        return Cursor([ROW])

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        yield  # an exception leaving the block rolls back: not committed
        self.committed = True


class Pool:
    def __init__(self) -> None:
        self.conn = Connection()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        yield self.conn


class Producer:
    """acks=all from a leader that moved: the acknowledgement never comes."""

    def __init__(self, acknowledges: bool) -> None:
        self.acknowledges = acknowledges

    async def send(self, topic: str, **_: object) -> asyncio.Future[None]:
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.acknowledges:
            ack.set_result(None)
        return ack


def _relay(pool: Pool, producer: Producer) -> OutboxRelay:
    relay = OutboxRelay(
        pool=pool,  # type: ignore[arg-type]
        bootstrap=["127.0.0.1:9"],
        auth=None,
        topic="ticket.events.v1",
        interval_s=0.1,
        publish_timeout_s=0.2,
        request_timeout_ms=1000,
        client_id="test",
    )
    relay._slot.producer = producer
    return relay


def test_an_unacknowledged_batch_is_given_up_within_the_bound_and_stays_unpublished() -> None:
    pool = Pool()

    async def attempt() -> BaseException | None:
        task = asyncio.create_task(_relay(pool, Producer(acknowledges=False)).publish_once())
        done, _ = await asyncio.wait({task}, timeout=2)  # far above the bound: the relay must give up itself
        assert done, "the claim waited on Kafka past its bound"
        return task.exception()

    assert isinstance(asyncio.run(attempt()), TimeoutError)  # transient: the relay pauses and tries again
    assert pool.conn.statements == ["SELECT"], "nothing may be marked published"
    assert not pool.conn.committed


def test_an_acknowledged_batch_is_marked_published_in_the_claim() -> None:
    pool = Pool()
    assert asyncio.run(_relay(pool, Producer(acknowledges=True)).publish_once()) == 1
    assert pool.conn.statements == ["SELECT", "UPDATE"]
    assert pool.conn.committed


def test_the_relay_replaces_a_producer_kafka_gave_up_on_and_publishes_again(monkeypatch: pytest.MonkeyPatch) -> None:
    pool, dead = Pool(), DeadProducer()
    producers: list[object] = [dead, Producer(acknowledges=True)]

    async def start(make: object, what: str) -> object:
        return producers.pop(0)

    monkeypatch.setattr(core.kafka, "start_when_reachable", start)

    async def scenario() -> None:
        relay = _relay(pool, Producer(acknowledges=False))
        running = asyncio.create_task(relay.run())
        for _ in range(200):
            if pool.conn.committed:
                break
            await asyncio.sleep(0.01)
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError, AttributeError):
            await running

    asyncio.run(scenario())
    assert dead.stopped
    assert pool.conn.committed, "nothing was published after the renewal"
