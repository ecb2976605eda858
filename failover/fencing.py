"""Fencing tokens in PostgreSQL: the epoch of a leadership term, checked by the database.

`ccdr_fence(role, epoch, holder)` (migration 0003) records the newest epoch per role and
raises SQLSTATE CCF01 for an older one; every fenced ticket event runs it in a trigger.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from failover.coordination import Term
from failover.election import Register, StaleTerm

STALE_EPOCH = "CCF01"


def is_stale_epoch(exc: BaseException) -> bool:
    return isinstance(exc, psycopg.Error) and getattr(exc, "sqlstate", None) == STALE_EPOCH


def registrar(pool: AsyncConnectionPool[Any]) -> Register:
    async def register(term: Term) -> None:
        try:
            async with pool.connection() as conn:
                await conn.execute("SELECT ccdr_fence(%s, %s, %s)", (term.role, term.epoch, term.holder))
        except psycopg.Error as exc:
            if is_stale_epoch(exc):
                raise StaleTerm(str(exc).splitlines()[0]) from exc
            raise

    return register


async def fenced_epoch(conn: psycopg.AsyncConnection[Any], role: str) -> int | None:
    row = await (await conn.execute("SELECT epoch FROM fencing_epochs WHERE role = %s", (role,))).fetchone()
    return int(row[0]) if row else None
