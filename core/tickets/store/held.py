"""SQL of the held events (psycopg 3, async): replies and cleared alerts that wait for their
ticket (core.tickets.domain.batch, `Hold`). Thin: which to hold and when to let go is decided there."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from pydantic import ValidationError

from core.intake.domain.schemas import IntakeEvent
from core.tickets.domain.batch import HeldRow, Positioned, thread_ids
from core.tickets.store.repository import Conn


@dataclass(frozen=True)
class Unreadable:
    """A held row whose event no longer decodes (a worker of another release wrote it)."""

    intake_id: UUID
    payload: bytes
    partition: int
    offset: int
    error: str


@dataclass(frozen=True)
class Claimed:
    """Held events taken for one pass, locked until its transaction ends, in the order they were
    read from the topic; `now` is the database's clock, which decided that their hold had ended."""

    items: list[Positioned]
    until: dict[UUID, datetime]
    unreadable: list[Unreadable]
    now: datetime


async def hold(conn: Conn, rows: Sequence[HeldRow]) -> None:
    """Hold each event; one held already (a re-delivery, a hedged copy) keeps its row and its end."""
    if not rows:
        return
    async with conn.cursor() as cur:
        await cur.executemany(
            """INSERT INTO held_intakes (intake_id, payload, kafka_partition, kafka_offset, names, threads, hold_until)
               VALUES (%s, %s::jsonb, %s, %s, %s, %s, %s) ON CONFLICT (intake_id) DO NOTHING""",
            [
                (
                    r.event.intake_id,
                    r.event.model_dump_json(),
                    r.partition,
                    r.offset,
                    list(r.event.reply_to),
                    thread_ids(r.event),
                    r.until,
                )
                for r in rows
            ],
        )


async def release(conn: Conn, intake_ids: Sequence[UUID]) -> None:
    if intake_ids:
        await conn.execute("DELETE FROM held_intakes WHERE intake_id = ANY(%s)", (list(intake_ids),))


async def claim(conn: Conn, limit: int) -> Claimed:
    """The oldest held events that may be decided now (their ticket appeared, or their hold ended),
    locked; those another worker is deciding at the moment are skipped."""
    # Events held in one batch share held_at (the transaction's start): the topic's order breaks
    # the tie, so a reply to a held reply is decided after it, as it was read.
    rows = await (
        await conn.execute(
            """SELECT h.intake_id, h.payload::text, h.kafka_partition, h.kafka_offset, h.hold_until, now()
               FROM held_intakes h
               WHERE h.hold_until <= now()
                  OR EXISTS (SELECT 1 FROM tickets t WHERE t.code = ANY(h.names))
                  OR EXISTS (SELECT 1 FROM email_messages m WHERE m.message_id = ANY(h.threads))
               ORDER BY h.held_at, h.kafka_partition, h.kafka_offset LIMIT %s FOR UPDATE OF h SKIP LOCKED""",
            (limit,),
        )
    ).fetchall()
    now = rows[0][5] if rows else datetime.now(UTC)
    items: list[Positioned] = []
    unreadable: list[Unreadable] = []
    for intake_id, payload, partition, offset, _, _ in rows:
        try:
            items.append(Positioned(IntakeEvent.model_validate_json(payload), partition, offset))
        except ValidationError as exc:
            error = f"held event no longer an intake.v1 event: {exc.errors()[0]['msg'] if exc.errors() else exc}"
            unreadable.append(Unreadable(intake_id, payload.encode(), partition, offset, error))
    return Claimed(items=items, until={r[0]: r[4] for r in rows}, unreadable=unreadable, now=now)


async def count(conn: Conn) -> int:
    row = await (await conn.execute("SELECT count(*) FROM held_intakes")).fetchone()
    return int(row[0]) if row else 0
