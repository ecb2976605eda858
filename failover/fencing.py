"""Fencing tokens in PostgreSQL: the epoch of a leadership term, checked by the database.

`ccdr_fence(role, epoch, holder)` (migration 0003) records the newest epoch per role and
raises SQLSTATE CCF01 for an older one (core.database.fenced: FencedOut); every fenced ticket
event runs it in a trigger.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from psycopg_pool import AsyncConnectionPool

from core.database import fenced
from core.leases import FencedOut
from failover.coordination import Term
from failover.election import Register, StaleTerm


@contextmanager
def stale_epoch_ends_term() -> Iterator[None]:
    """PostgreSQL refusing our epoch means a newer leader exists: raise StaleTerm (the runner
    then relinquishes); any other database error passes through."""
    try:
        with fenced():
            yield
    except FencedOut as exc:
        raise StaleTerm(str(exc)) from exc


def registrar(pool: AsyncConnectionPool[Any]) -> Register:
    async def register(term: Term) -> None:
        with stale_epoch_ends_term():
            async with pool.connection() as conn:
                await conn.execute("SELECT ccdr_fence(%s, %s, %s)", (term.role, term.epoch, term.holder))

    return register
