"""core.agents.ports.DispatchStore over a PostgreSQL pool."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from core.agents.domain.dispatch import Assignment, OpenTicket
from core.agents.domain.logins import LoginRecord
from core.agents.domain.revocations import Revocations
from core.agents.domain.roster import Shift
from core.agents.store import repository as agents_repo
from core.database import autocommit_connection, fenced
from core.domain.escalation import SupportLevel
from core.domain.routing import Team
from core.domain.taxonomy import Region
from core.leases import Fence
from core.tickets.store import clock_store
from core.tickets.store.repository import Conn


@dataclass
class _DispatchSession:
    conn: Conn

    async def agents(self) -> list[str]:
        return await clock_store.agent_ids(self.conn)

    async def shifts_at(self, at: datetime) -> list[Shift]:
        return await agents_repo.shifts_at(self.conn, at)

    async def work(self, takers: list[tuple[str, str, str]], absent: list[str], limit: int) -> list[OpenTicket]:
        rows = await clock_store.dispatch_work(self.conn, takers, absent, limit)
        return [
            OpenTicket(code, assignee, Team(team), Region(region) if region else None, SupportLevel(level))
            for code, assignee, team, region, level in rows
        ]

    async def load(self) -> dict[str, int]:
        return await clock_store.open_load(self.conn)

    async def assign(self, assignment: Assignment, fence: Fence, now: datetime) -> bool:
        a = assignment
        with fenced():  # ccdr_fence refusing the epoch is core's FencedOut
            return await clock_store.assign(self.conn, a.code, a.agent, a.expected, a.reason, fence, now)


@dataclass
class PgDispatchStore:
    pool: AsyncConnectionPool[Any]

    @asynccontextmanager
    async def session(self) -> AsyncIterator[_DispatchSession]:
        # A transaction per assignment, none between them (core.database.autocommit_connection).
        async with autocommit_connection(self.pool) as conn:
            yield _DispatchSession(conn)


def revocations_reader(pool: AsyncConnectionPool[Any]) -> Callable[[], Awaitable[Revocations]]:
    async def read() -> Revocations:
        async with pool.connection() as conn:
            return await agents_repo.revocations(conn)

    return read


def login_writer(pool: AsyncConnectionPool[Any]) -> Callable[[Sequence[LoginRecord]], Awaitable[None]]:
    async def write(records: Sequence[LoginRecord]) -> None:
        async with pool.connection() as conn, conn.transaction():
            await agents_repo.record_logins(conn, records)

    return write
