"""The intake quarantine: events the ticket worker set aside instead of stalling on them.

A quarantined event is kept with its payload and the reason; the worker commits past it, so one
bad event never stops ticket creation. `ccdr tickets quarantine list|retry` shows them and sends
one back to the intake topic once its cause is fixed (the normal path re-checks it; the ledger
makes a retry of an event that did get applied harmless).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from psycopg.rows import class_row

from core.intake.domain.storable import printable
from core.tickets.store.repository import Conn

ERROR_MAX_CHARS = 2000


class Reason(StrEnum):
    UNDECODABLE = "undecodable"  # not JSON, not an intake event, or a schema version we do not read
    UNSTORABLE = "unstorable"  # an intake event holding what the store cannot keep (NUL, ...)
    REJECTED = "rejected"  # the database refused it for a reason retrying does not cure


@dataclass(frozen=True)
class SetAside:
    """One event the worker will not apply, and why."""

    partition: int
    offset: int
    reason: Reason
    error: str
    payload: bytes
    intake_id: UUID | None = None


@dataclass(frozen=True)
class QuarantinedRow:
    id: int
    kafka_partition: int
    kafka_offset: int
    reason: str
    error: str
    intake_id: UUID | None
    payload: bytes
    quarantined_by: str
    quarantined_at: datetime
    retried_at: datetime | None
    retried_by: str | None


async def record(conn: Conn, items: list[SetAside], worker: str) -> None:
    if not items:
        return
    async with conn.cursor() as cur:
        await cur.executemany(
            """INSERT INTO intake_quarantine (kafka_partition, kafka_offset, reason, error, intake_id, payload,
                                              quarantined_by)
               VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (kafka_partition, kafka_offset) DO NOTHING""",
            [
                (i.partition, i.offset, i.reason.value, storable_text(i.error), i.intake_id, i.payload, worker)
                for i in items
            ],
        )


def storable_text(error: str) -> str:
    """An error message as `text` can hold it: it may quote the very input that was refused."""
    return printable(error[:ERROR_MAX_CHARS])


async def listing(conn: Conn, *, include_retried: bool, limit: int) -> list[QuarantinedRow]:
    where = "" if include_retried else "WHERE retried_at IS NULL"
    cur = conn.cursor(row_factory=class_row(QuarantinedRow))
    query = f"SELECT * FROM intake_quarantine {where} ORDER BY id LIMIT %s"
    return await (await cur.execute(query, (limit,))).fetchall()


async def get(conn: Conn, entry: int) -> QuarantinedRow | None:
    cur = conn.cursor(row_factory=class_row(QuarantinedRow))
    return await (await cur.execute("SELECT * FROM intake_quarantine WHERE id = %s", (entry,))).fetchone()


async def pending_count(conn: Conn) -> int:
    row = await (await conn.execute("SELECT count(*) FROM intake_quarantine WHERE retried_at IS NULL")).fetchone()
    return int(row[0]) if row else 0


async def claim(conn: Conn, ids: list[int] | None) -> list[QuarantinedRow]:
    """Lock the pending rows to retry (all when `ids` is None); the caller marks them after sending."""
    cur = conn.cursor(row_factory=class_row(QuarantinedRow))
    if ids is None:
        query: Any = "SELECT * FROM intake_quarantine WHERE retried_at IS NULL ORDER BY id FOR UPDATE"
        return await (await cur.execute(query)).fetchall()
    query = "SELECT * FROM intake_quarantine WHERE id = ANY(%s) AND retried_at IS NULL ORDER BY id FOR UPDATE"
    return await (await cur.execute(query, (ids,))).fetchall()


async def mark_retried(conn: Conn, ids: list[int], by: str) -> None:
    await conn.execute("UPDATE intake_quarantine SET retried_at = now(), retried_by = %s WHERE id = ANY(%s)", (by, ids))
