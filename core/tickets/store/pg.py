"""core.tickets.ports.TicketStore over a PostgreSQL pool (the primary, through the front door)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from core.database import autocommit_connection, fenced
from core.leases import Fence
from core.tickets.domain.filters import TicketFilter
from core.tickets.domain.model import EventDraft, SlaClock, Ticket, TicketEvent
from core.tickets.domain.sla_clock import ClockAction, ClockView
from core.tickets.store import clock_store, queries
from core.tickets.store import repository as repo


@dataclass
class _Reads:
    conn: repo.Conn

    async def ticket(self, code: str) -> Ticket | None:
        return await repo.get_ticket(self.conn, code)

    async def events(self, code: str) -> list[TicketEvent]:
        return await repo.events_of(self.conn, code)

    async def page(self, flt: TicketFilter, limit: int, cursor: str | None) -> tuple[list[Ticket], str | None]:
        return await queries.list_tickets(self.conn, flt, limit, cursor)


@dataclass
class _Writes:
    conn: repo.Conn

    async def locked(self, code: str) -> Ticket | None:
        return await repo.get_ticket(self.conn, code, for_update=True)

    async def save(
        self, ticket: Ticket, *, status: str, clock: SlaClock, fields: dict[str, object] | None = None
    ) -> None:
        await repo.save_ticket(self.conn, ticket, status=status, clock=clock, fields=fields)

    async def append(self, code: str, events: Sequence[EventDraft]) -> None:
        await repo.append_events(self.conn, code, events)

    async def ticket(self, code: str) -> Ticket | None:
        return await repo.get_ticket(self.conn, code)

    async def takes_tickets(self, agent_id: str) -> bool:
        return await repo.takes_tickets(self.conn, agent_id)

    async def has_action(self, code: str, key: str) -> bool:
        return await repo.has_action(self.conn, code, key)

    async def open_visit(self, code: str) -> UUID | None:
        return await repo.open_visit(self.conn, code)


@dataclass
class PgTicketStore:
    pool: AsyncConnectionPool[Any]
    # Reads go to the primary (an agent sees what they just wrote) unless it gives no connection
    # within `primary_wait_s`: then to any node (`standby`), so an agent's queue and tickets stay
    # readable while the primary moves — as of the last commit the standby holds.
    standby: AsyncConnectionPool[Any] | None = None
    primary_wait_s: float = 1.0

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[_Reads]:
        if self.standby is None:
            async with self.pool.connection() as conn:
                yield _Reads(conn)
            return
        source = self.pool
        try:
            conn = await self.pool.getconn(timeout=self.primary_wait_s)
        except (PoolTimeout, psycopg.OperationalError):
            source = self.standby
            conn = await self.standby.getconn()
        try:
            yield _Reads(conn)
        finally:
            if not conn.closed and conn.info.transaction_status == TransactionStatus.INTRANS:
                with contextlib.suppress(psycopg.Error):
                    await conn.rollback()  # it only read; as the pool's own context would end it
            await source.putconn(conn)

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[_Writes]:
        async with self.pool.connection() as conn, conn.transaction():
            yield _Writes(conn)


@dataclass
class _ClockSession:
    conn: repo.Conn

    async def due(self, now: datetime, limit: int) -> list[ClockView]:
        return await clock_store.due_views(self.conn, now=now, limit=limit)

    async def record(self, action: ClockAction, fence: Fence, now: datetime) -> bool:
        with fenced():  # ccdr_fence refusing the epoch is core's FencedOut
            return await clock_store.record_clock_action(self.conn, action, fence, now)

    async def reschedule(self, code: str, now: datetime, horizon: timedelta) -> None:
        await clock_store.reschedule(self.conn, code, now, horizon)


@dataclass
class PgClockStore:
    """core.tickets.ports.ClockStore: one pooled connection per pass, a transaction per write
    (autocommit between them: no ticket stays locked for the rest of the pass)."""

    pool: AsyncConnectionPool[Any]

    @asynccontextmanager
    async def session(self) -> AsyncIterator[_ClockSession]:
        async with autocommit_connection(self.pool) as conn:
            yield _ClockSession(conn)
