"""In-memory adapters of core's ports, shared by unit tests. Each keeps its port's contract (a
write transaction is all or nothing, reads see only committed state), so a use case tested
against it behaves as against PostgreSQL; the integration tests check the real adapters."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from core.agents.domain.dispatch import Assignment, OpenTicket
from core.agents.domain.model import Agent, Role
from core.agents.domain.presence import Status
from core.agents.domain.revocations import Revocations
from core.agents.domain.roster import Shift
from core.agents.domain.tokens import SessionTokens, public_key_of
from core.agents.revocation_watch import RevocationWatch
from core.agents.sessions import SessionCheck
from core.domain.priority import Impact, Urgency
from core.intake.domain.codes import ticket_code_for
from core.intake.domain.schemas import Channel, Contact, IntakeEvent
from core.leases import Fence, FencedOut
from core.tickets.domain.filters import TicketFilter
from core.tickets.domain.model import EventDraft, SlaClock, Ticket, TicketEvent
from core.tickets.domain.planning import Policies, open_ticket
from core.tickets.domain.sla_clock import ClockAction, ClockView, due_actions
from core.tickets.store.repository import MUTABLE_COLUMNS


@dataclass
class _State:
    tickets: dict[str, Ticket] = field(default_factory=dict)
    events: dict[str, list[TicketEvent]] = field(default_factory=dict)
    engineers: set[str] = field(default_factory=set)  # active L1-L3 agents (reassignment targets)
    visits_under_way: dict[str, UUID] = field(default_factory=dict)  # ticket code -> its open on-site visit


class _Reads:
    def __init__(self, state: _State) -> None:
        self.state = state

    async def ticket(self, code: str) -> Ticket | None:
        return self.state.tickets.get(code)

    async def events(self, code: str) -> list[TicketEvent]:
        return list(self.state.events.get(code, []))

    async def page(self, flt: TicketFilter, limit: int, cursor: str | None) -> tuple[list[Ticket], str | None]:
        def matches(t: Ticket) -> bool:
            closed = t.status.value in ("resolved", "closed")
            return (
                flt.status in (None, t.status.value)
                and flt.assignee in (None, t.assignee)
                and flt.team in (None, t.team)
                and not (flt.open_only and closed)
                and all(
                    word in f"{t.code} {t.subject} {t.description}".lower() for word in (flt.q or "").lower().split()
                )
            )

        return [t for t in self.state.tickets.values() if matches(t)][:limit], None


class _Writes(_Reads):
    async def locked(self, code: str) -> Ticket | None:
        return self.state.tickets.get(code)

    async def takes_tickets(self, agent_id: str) -> bool:
        return agent_id in self.state.engineers

    async def has_action(self, code: str, key: str) -> bool:
        return any(e.action_key == key for e in self.state.events.get(code, []))

    async def open_visit(self, code: str) -> UUID | None:
        return self.state.visits_under_way.get(code)

    async def save(
        self, ticket: Ticket, *, status: str, clock: SlaClock, fields: dict[str, object] | None = None
    ) -> None:
        unknown = set(fields or {}) - MUTABLE_COLUMNS  # as the SQL adapter refuses them
        if unknown:
            raise ValueError(f"not a mutable ticket column: {', '.join(sorted(unknown))}")
        update = {"status": status, "clock": clock.model_dump(), **(fields or {})}
        row = self.state.tickets[ticket.code].model_dump() | update
        self.state.tickets[ticket.code] = Ticket.model_validate(row)  # read back typed, as from the table

    async def append(self, code: str, events: Sequence[EventDraft]) -> None:
        if code not in self.state.tickets:
            raise LookupError(code)
        log = self.state.events.setdefault(code, [])
        for e in events:
            log.append(TicketEvent(ticket_code=code, seq=len(log) + 1, **e.model_dump()))


class MemoryTicketStore:
    """core.tickets.ports.TicketStore in memory."""

    def __init__(self, tickets: Sequence[Ticket] = ()) -> None:
        self.committed = _State({t.code: t for t in tickets}, {t.code: [] for t in tickets})

    def open(self, ticket: Ticket, created: EventDraft) -> None:
        """A ticket with its `created` event, as the ticket worker leaves it."""
        self.committed.tickets[ticket.code] = ticket
        self.committed.events[ticket.code] = [TicketEvent(ticket_code=ticket.code, seq=1, **created.model_dump())]

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[_Reads]:
        yield _Reads(self.committed)

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[_Writes]:
        draft = copy.deepcopy(self.committed)
        yield _Writes(draft)  # an exception here leaves `committed` as it was: a rollback
        self.committed = draft


class MemoryClockStore:
    """core.tickets.ports.ClockStore in memory: views by code, recorded action keys, the fences
    that wrote them, and a newest epoch per role that refuses older ones (as ccdr_fence does)."""

    def __init__(self, views: Sequence[ClockView]) -> None:
        self.views = {v.code: v for v in views}
        self.recorded: list[tuple[str, str, Fence]] = []  # (code, key, fence)
        self.rescheduled: list[str] = []
        self.newest_epoch: dict[str, int] = {}
        self.refuse: set[str] = set()  # action keys whose write finds them no longer due
        self.reads = 0

    @asynccontextmanager
    async def session(self) -> AsyncIterator[MemoryClockStore]:
        yield self

    async def due(self, now: datetime, limit: int) -> list[ClockView]:
        """As the index does: every ticket with an action still due, whether rescheduled or not."""
        self.reads += 1
        if self.reads > 100:
            raise AssertionError("the clock keeps reading the same due tickets: it spins")
        due = [v for v in self.views.values() if due_actions(v, now)]
        return sorted(due, key=lambda v: v.opened_at)[:limit]

    async def record(self, action: ClockAction, fence: Fence, now: datetime) -> bool:
        if fence.epoch < self.newest_epoch.get(fence.role, 0):
            raise FencedOut(f"epoch {fence.epoch} < {self.newest_epoch[fence.role]} for {fence.role}")
        self.newest_epoch[fence.role] = fence.epoch
        if action.key in self.refuse:
            return False
        view = self.views[action.code]
        self.views[action.code] = replace(view, done=view.done | {action.key})
        self.recorded.append((action.code, action.key, fence))
        return True

    async def reschedule(self, code: str, now: datetime, horizon: timedelta) -> None:
        self.rescheduled.append(code)


class MemoryPresence:
    """core.agents.domain.presence.Presence in memory: agent -> status at one site."""

    def __init__(self, statuses: dict[str, Status] | None = None) -> None:
        self.statuses = dict(statuses or {})

    async def set(self, agent: str, status: Status) -> dict[str, Any]:
        self.statuses[agent] = status
        return {"agent": agent, "site": "a", "status": status.value}

    async def clear(self, agent: str) -> None:
        self.statuses.pop(agent, None)

    async def everyone(self) -> list[dict[str, Any]]:
        return [{"agent": a, "site": "a", "status": s.value} for a, s in sorted(self.statuses.items())]


class MemoryDispatchStore:
    """core.agents.ports.DispatchStore in memory: tickets with their assignee, shifts, and a fence
    check like ccdr_fence's."""

    def __init__(self, tickets: Sequence[OpenTicket], shifts: Sequence[Shift], agents: Sequence[str]) -> None:
        self.tickets = {t.code: t for t in tickets}
        self.shifts = list(shifts)
        self.agent_ids = sorted(agents)
        self.assigned: list[tuple[Assignment, Fence]] = []
        self.newest_epoch: dict[str, int] = {}

    @asynccontextmanager
    async def session(self) -> AsyncIterator[MemoryDispatchStore]:
        yield self

    async def agents(self) -> list[str]:
        return list(self.agent_ids)

    async def shifts_at(self, at: datetime) -> list[Shift]:
        return [s for s in self.shifts if s.starts_at <= at < s.ends_at]

    async def work(self, takers: list[tuple[str, str, str]], absent: list[str], limit: int) -> list[OpenTicket]:
        def takeable(t: OpenTicket) -> bool:
            return any(
                (team, level) == (t.team.value, t.level.value) and (t.region is None or region == t.region.value)
                for team, level, region in takers
            )

        found = [t for t in self.tickets.values() if (t.assignee is None and takeable(t)) or t.assignee in absent]
        return found[:limit]

    async def load(self) -> dict[str, int]:
        return dict(Counter(t.assignee for t in self.tickets.values() if t.assignee))

    async def assign(self, assignment: Assignment, fence: Fence, now: datetime) -> bool:
        if fence.epoch < self.newest_epoch.get(fence.role, 0):
            raise FencedOut(f"epoch {fence.epoch} < {self.newest_epoch[fence.role]} for {fence.role}")
        self.newest_epoch[fence.role] = fence.epoch
        ticket = self.tickets[assignment.code]
        if ticket.assignee != assignment.expected:
            return False
        self.tickets[assignment.code] = replace(ticket, assignee=assignment.agent)
        self.assigned.append((assignment, fence))
        return True


def opened_ticket(
    received_at: datetime, subject: str = "switch lỗi", impact: str = "medium", urgency: str = "medium"
) -> tuple[Ticket, EventDraft]:
    """A portal ticket as the ticket worker opens it (the domain's own open_ticket), and its
    `created` event."""
    intake_id = uuid.uuid4()
    event = IntakeEvent(
        channel=Channel.PORTAL,
        intake_id=intake_id,
        ticket_code=ticket_code_for(intake_id),
        received_at=received_at,
        event_time=received_at,
        received_site="a",
        receiver="system",
        contact=Contact(email="khach@example.vn"),
        subject=subject,
        impact=Impact(impact),
        urgency=Urgency(urgency),
    )
    return open_ticket(event, customer=None, contract=None, asset=None, policies=Policies())


class CountedLease:
    """core.leases.Lease that may act `acts` more times (each may_act() call spends one), then not."""

    def __init__(self, role: str, site: str, epoch: int, acts: int = 10_000) -> None:
        self.role, self.site, self.epoch, self.acts = role, site, epoch, acts

    def may_act(self) -> bool:
        self.acts -= 1
        return self.acts >= 0

    def fence(self) -> Fence:
        return Fence(self.role, self.epoch, f"{self.role}@{self.site}")


# Agent sessions signed with a fixed test key, checked against a revocation list held in memory.
TEST_SESSION_SEED = "x5DwLwYz4lJg6pXcGcC8qyTLEp3E7dUbH5gK1oXk3s0"  # tests/unit/infra/test_render.SECRETS'


def memory_sessions(revocations: Revocations | None = None) -> SessionCheck:
    """A SessionCheck whose revocation list is already read (from memory)."""
    current = revocations or Revocations(read_at=datetime.now(UTC))

    async def read() -> Revocations:
        return current

    watch = RevocationWatch(read, refresh_s=60)
    asyncio.run(watch.refresh())
    return SessionCheck(SessionTokens([public_key_of(TEST_SESSION_SEED)], TEST_SESSION_SEED), watch)


def agent_token(sessions: SessionCheck, agent_id: str = "an.nguyen", role: Role = Role.AGENT_L1) -> str:
    agent = Agent(id=agent_id, name=agent_id, role=role, home_site="a")
    return sessions.tokens.issue(agent, "a", datetime.now(UTC), timedelta(hours=1)).token


class ManualClock:
    """A monotonic clock that moves only when a test moves it (`clock.now += 5`)."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
