"""What the ticket use cases (core.tickets.service) need from storage, and nothing more: a read,
and a transaction that locks one ticket, writes its projection and appends its events. The
PostgreSQL adapter is core.tickets.store.pg; unit tests use an in-memory one (tests/fakes.py)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from core.leases import Fence
from core.tickets.domain.filters import TicketFilter
from core.tickets.domain.model import EventDraft, SlaClock, Ticket, TicketEvent
from core.tickets.domain.sla_clock import ClockAction, ClockView


class TicketReads(Protocol):
    async def ticket(self, code: str) -> Ticket | None: ...

    async def events(self, code: str) -> list[TicketEvent]: ...

    async def page(self, flt: TicketFilter, limit: int, cursor: str | None) -> tuple[list[Ticket], str | None]: ...


class TicketWrites(Protocol):
    """One transaction: nothing is visible to others until it ends, and nothing of it if it fails."""

    async def locked(self, code: str) -> Ticket | None:
        """The ticket, locked until the transaction ends (None: no such ticket)."""
        ...

    async def save(
        self, ticket: Ticket, *, status: str, clock: SlaClock, fields: dict[str, object] | None = None
    ) -> None: ...

    async def append(self, code: str, events: Sequence[EventDraft]) -> None: ...

    async def ticket(self, code: str) -> Ticket | None:
        """As written so far in this transaction."""
        ...

    async def takes_tickets(self, agent_id: str) -> bool:
        """The agent exists, is active and works tickets (an L1, L2 or L3 engineer)."""
        ...

    async def has_action(self, code: str, key: str) -> bool:
        """An event with this action key was appended to the ticket (it happens once)."""
        ...

    async def open_visit(self, code: str) -> UUID | None:
        """The ticket's on-site visit under way (dispatched or on site), if any."""
        ...


class TicketStore(Protocol):
    def reading(self) -> AbstractAsyncContextManager[TicketReads]: ...

    def writing(self) -> AbstractAsyncContextManager[TicketWrites]: ...


class ClockSession(Protocol):
    """The SLA clock's reads and fenced writes (core.tickets.clock_worker)."""

    async def due(self, now: datetime, limit: int) -> list[ClockView]:
        """Tickets whose clock is due, most overdue first."""
        ...

    async def record(self, action: ClockAction, fence: Fence, now: datetime) -> bool:
        """Record one action if still due (False: no longer); the database refuses a stale fence."""
        ...

    async def reschedule(self, code: str, now: datetime, horizon: timedelta) -> None: ...


class ClockStore(Protocol):
    def session(self) -> AbstractAsyncContextManager[ClockSession]: ...
