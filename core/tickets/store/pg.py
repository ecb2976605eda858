"""core.tickets.ports.TicketStore over a PostgreSQL pool (the primary, through the front door)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg_pool import AsyncConnectionPool

from core.database import fenced
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


@dataclass
class PgTicketStore:
    pool: AsyncConnectionPool[Any]

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[_Reads]:
        async with self.pool.connection() as conn:
            yield _Reads(conn)

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
    """core.tickets.ports.ClockStore: one pooled connection per pass, a transaction per write."""

    pool: AsyncConnectionPool[Any]

    @asynccontextmanager
    async def session(self) -> AsyncIterator[_ClockSession]:
        async with self.pool.connection() as conn:
            yield _ClockSession(conn)
