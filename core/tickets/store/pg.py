"""core.tickets.ports.TicketStore over a PostgreSQL pool (the primary, through the front door)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool

from core.tickets.domain.filters import TicketFilter
from core.tickets.domain.model import EventDraft, SlaClock, Ticket, TicketEvent
from core.tickets.store import queries
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
