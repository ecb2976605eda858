"""Publish appended ticket events to Kafka (`ticket.events.v1`): the transactional outbox.

Events are written in the same transaction as the change; this relay, running at both sites,
claims unpublished rows with SKIP LOCKED, produces them (acks=all) and marks them published.
Delivery is at-least-once and ordered per ticket within a batch; readers order by `seq`.

The claim is a transaction that waits on Kafka, so that wait is bounded (`publish_timeout_s`)
below PostgreSQL's idle_in_transaction_session_timeout: in `partition-a-b` the relay waited on a
leader that had moved, PostgreSQL ended its session, and the error stopped the whole worker
(both sites' ticket creation stalled for 15 s while the group rebalanced around its restart).
A batch given up on stays unpublished and is sent again: at-least-once, as before.
"""

from __future__ import annotations

import asyncio
import json
import logging

from prometheus_client import Counter
from psycopg_pool import AsyncConnectionPool

from core.kafka import ProducerSlot, acknowledged_producer
from core.settings import KafkaAuth
from core.tickets.kafka.consumer import TRANSIENT

log = logging.getLogger(__name__)
PUBLISHED = Counter("ccdr_tickets_events_published_total", "Ticket events published to Kafka")
FAILED = Counter("ccdr_tickets_outbox_errors_total", "Outbox relay passes that failed with an unexpected error")
BATCH = 500


class OutboxRelay:
    def __init__(
        self,
        *,
        pool: AsyncConnectionPool,
        bootstrap: list[str],
        auth: KafkaAuth | None,
        topic: str,
        interval_s: float,
        publish_timeout_s: float,
        request_timeout_ms: int,
        client_id: str,
    ) -> None:
        self._pool = pool
        self._topic = topic
        self._interval_s = interval_s
        self._publish_timeout_s = publish_timeout_s
        self._slot = ProducerSlot(
            acknowledged_producer(bootstrap, client_id, linger_ms=5, auth=auth, request_timeout_ms=request_timeout_ms),
            "outbox relay",
        )

    async def run(self) -> None:
        await self._slot.start()
        try:
            while True:
                try:
                    async with asyncio.timeout(30):
                        sent = await self.publish_once()
                except TRANSIENT as exc:
                    log.warning("outbox relay paused: %s", exc)
                    sent = 0
                except Exception:  # a relay bug must not stop the intake consumer beside it (the same process)
                    log.exception("outbox relay: unexpected error; trying again")
                    FAILED.inc()
                    sent = 0
                if sent < BATCH:
                    await asyncio.sleep(self._interval_s)
        finally:
            await self._slot.stop()

    async def publish_once(self) -> int:
        async with self._slot.using() as producer, self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                """SELECT id, ticket_code, seq, kind, actor, at, data, intake_id FROM ticket_events
                   WHERE published_at IS NULL ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED""",
                (BATCH,),
            )
            rows = await cur.fetchall()
            if not rows:
                return 0
            pending = []
            for event_id, code, seq, kind, actor, at, data, intake_id in rows:
                value = {
                    "schema_version": 1,
                    "event_id": event_id,
                    "ticket_code": code,
                    "seq": seq,
                    "kind": kind,
                    "actor": actor,
                    "at": at.isoformat(),
                    "data": data,
                    "intake_id": str(intake_id) if intake_id else None,
                }
                pending.append(await producer.send(self._topic, key=code.encode(), value=json.dumps(value).encode()))
            async with asyncio.timeout(self._publish_timeout_s):  # TimeoutError rolls the claim back
                await asyncio.gather(*pending)
            await conn.execute(
                "UPDATE ticket_events SET published_at = now() WHERE id = ANY(%s)", ([r[0] for r in rows],)
            )
        PUBLISHED.inc(len(rows))
        return len(rows)
