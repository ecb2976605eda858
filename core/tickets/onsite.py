"""On-site dispatch and the visit record (docs/onsite.md). Each step is one transaction: the
ticket locked, the technician and the parts taken or given back, the visit written, the ticket's
status moved and its events appended, or none of it.

A dispatch moves the ticket to `dispatched_onsite`; the visit's end (departure with the work done,
or a cancellation) brings it back to `in_progress`, from where the engineer resolves it with the
root cause as on every other path."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from core.domain.text import StorableText
from core.domain.ticket_states import TRANSITIONS, InvalidTransition, TicketState
from core.errors import Conflict, InvalidInput, NotFound
from core.tickets.domain.lifecycle import change_state
from core.tickets.domain.model import EventDraft, SlaClock, Ticket
from core.tickets.domain.onsite import (
    PartNeed,
    Technician,
    Warehouse,
    choose_technician,
    choose_warehouse,
    merged,
    returned,
)
from core.tickets.service import canonical

S = TicketState


class Photo(BaseModel):
    """A photo's metadata: the picture itself stays in the field app's storage."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: StorableText = Field(min_length=1, max_length=200)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=1, le=100 * 1024 * 1024)
    taken_at: datetime


class Signoff(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: StorableText = Field(min_length=1, max_length=200)  # who signed for the customer
    note: StorableText = Field(default="", max_length=2000)


class DispatchRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    place: StorableText | None = Field(default=None, min_length=1, max_length=200)  # default: the asset's location
    parts: list[PartNeed] = Field(default_factory=list, max_length=50)
    note: StorableText = Field(default="", max_length=2000)


class DepartureRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    work_done: StorableText = Field(min_length=1, max_length=10_000)
    parts_used: list[PartNeed] = Field(default_factory=list, max_length=50)
    photos: list[Photo] = Field(default_factory=list, max_length=50)
    signoff: Signoff | None = None  # None: nobody was there to sign (said in the work log)


class CancelRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: StorableText = Field(min_length=1, max_length=2000)


class Reservation(BaseModel):
    model_config = ConfigDict(frozen=True)

    warehouse_id: str
    part_number: str
    quantity: int
    used: int | None
    status: str


class Visit(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    ticket_code: str
    technician_id: str
    technician_name: str
    to_place: str
    travel_minutes: int
    dispatched_at: datetime
    dispatched_by: str
    eta: datetime
    status: str
    arrived_at: datetime | None = None
    departed_at: datetime | None = None
    work_done: str | None = None
    photos: list[dict[str, Any]] = Field(default_factory=list)
    signoff: dict[str, Any] | None = None
    parts: list[Reservation] = Field(default_factory=list)


@dataclass(frozen=True)
class Dispatched:
    visit: Visit
    warnings: tuple[str, ...]


class OnsiteWrites(Protocol):
    """One transaction (core.tickets.store.onsite)."""

    async def locked_ticket(self, code: str) -> Ticket | None: ...

    async def save_ticket(self, ticket: Ticket, *, status: str, clock: SlaClock) -> None: ...

    async def append(self, code: str, events: Sequence[EventDraft]) -> None: ...

    async def place_of_asset(self, serial: str) -> str | None: ...

    async def technicians(self, skill: str) -> list[Technician]:
        """Those with the skill, locked until the transaction ends (two dispatches never pick the same)."""
        ...

    async def minutes_to(self, place: str) -> dict[str, int]: ...

    async def warehouses(self, parts: Sequence[str]) -> list[Warehouse]:
        """Every warehouse with its stock of these parts, locked until the transaction ends."""
        ...

    async def create_visit(self, visit: Visit, warehouse: str | None, parts: dict[str, int]) -> None:
        """Write the visit and take its parts off the warehouse's shelf."""
        ...

    async def visit(self, code: str, visit_id: UUID) -> Visit | None:
        """The visit, locked until the transaction ends."""
        ...

    async def open_visit(self, code: str) -> UUID | None:
        """The ticket's visit under way, if any."""
        ...

    async def end_visit(self, visit: Visit, back: dict[str, int], used: dict[str, int]) -> None:
        """Write the visit's end (status, times, report) and put `back` on the shelf."""
        ...

    async def move_technician(self, technician_id: str, place: str) -> None: ...


class OnsiteStore(Protocol):
    def writing(self) -> AbstractAsyncContextManager[OnsiteWrites]: ...

    async def visits(self, code: str) -> list[Visit] | None:
        """The ticket's visits, oldest first (None: no such ticket)."""
        ...


class OnsiteService:
    def __init__(self, store: OnsiteStore) -> None:
        self.store = store

    async def visits(self, code: str) -> list[Visit]:
        found = await self.store.visits(canonical(code))
        if found is None:
            raise NotFound(f"no ticket {code}")
        return found

    async def dispatch(self, code: str, req: DispatchRequest, actor: str) -> Dispatched:
        now = datetime.now(UTC)
        async with self.store.writing() as tx:
            ticket = await self._locked(tx, code)
            under_way = await tx.open_visit(ticket.code)
            if under_way is not None:
                raise Conflict(f"{ticket.code} has a visit under way ({under_way}): end or cancel it first")
            clock = self._moved_clock(ticket, S.DISPATCHED_ONSITE, now)
            place = req.place or (await tx.place_of_asset(ticket.asset_serial) if ticket.asset_serial else None)
            if not place:
                raise InvalidInput("place: the ticket names no asset with a known location; say where to go")
            minutes_to = await tx.minutes_to(place)
            choice = choose_technician(
                await tx.technicians(ticket.team),
                ticket.team,
                ticket.region,
                place,
                minutes_to,
                now,
                ticket.clock.resolution_due,
            )
            parts = merged(req.parts)
            warehouse = choose_warehouse(await tx.warehouses(sorted(parts)), req.parts, place, minutes_to)
            tech = choice.technician
            visit = Visit(
                id=uuid4(),
                ticket_code=ticket.code,
                technician_id=tech.id,
                technician_name=tech.name,
                to_place=place,
                travel_minutes=choice.travel_minutes,
                dispatched_at=now,
                dispatched_by=actor,
                eta=choice.eta,
                status="dispatched",
            )
            await tx.create_visit(visit, warehouse.id if warehouse else None, parts)
            await tx.save_ticket(ticket, status=S.DISPATCHED_ONSITE.value, clock=clock)
            data = {
                "visit_id": str(visit.id),
                "technician": tech.id,
                "technician_name": tech.name,
                "place": place,
                "travel_minutes": choice.travel_minutes,
                "eta": choice.eta.isoformat(),
                "warehouse": warehouse.id if warehouse else None,
                "parts": parts,
                "warnings": list(choice.warnings),
                "note": req.note,
            }
            moved = {"from": ticket.status.value, "to": S.DISPATCHED_ONSITE.value, "eta": choice.eta.isoformat()}
            await tx.append(
                ticket.code,
                [
                    EventDraft(kind="dispatched", actor=actor, at=now, data=data),
                    EventDraft(kind="status_changed", actor=actor, at=now, data=moved),
                ],
            )
            stored = await tx.visit(ticket.code, visit.id)
            assert stored is not None
            return Dispatched(stored, choice.warnings)

    async def arrive(self, code: str, visit_id: UUID, actor: str) -> Visit:
        now = datetime.now(UTC)
        async with self.store.writing() as tx:
            ticket = await self._locked(tx, code)
            visit = await self._visit(tx, ticket.code, visit_id, {"dispatched"})
            arrived = visit.model_copy(update={"status": "on_site", "arrived_at": now})
            await tx.end_visit(arrived, {}, {})
            await tx.move_technician(visit.technician_id, visit.to_place)
            data = {"visit_id": str(visit.id), "technician": visit.technician_id, "late": now > visit.eta}
            await tx.append(ticket.code, [EventDraft(kind="technician_arrived", actor=actor, at=now, data=data)])
            return await self._reread(tx, ticket.code, visit.id)

    async def depart(self, code: str, visit_id: UUID, req: DepartureRequest, actor: str) -> Visit:
        now = datetime.now(UTC)
        async with self.store.writing() as tx:
            ticket = await self._locked(tx, code)
            visit = await self._visit(tx, ticket.code, visit_id, {"on_site"})
            reserved = {r.part_number: r.quantity for r in visit.parts}
            used = merged(req.parts_used)
            back = returned(reserved, used)
            done = visit.model_copy(
                update={
                    "status": "done",
                    "departed_at": now,
                    "work_done": req.work_done,
                    "photos": [p.model_dump(mode="json") for p in req.photos],
                    "signoff": {**req.signoff.model_dump(mode="json"), "at": now.isoformat()} if req.signoff else None,
                }
            )
            await tx.end_visit(done, back, used)
            events = [
                EventDraft(
                    kind="visit_completed",
                    actor=actor,
                    at=now,
                    data={
                        "visit_id": str(visit.id),
                        "technician": visit.technician_id,
                        "work_done": req.work_done,
                        "parts_used": used,
                        "parts_returned": {p: n for p, n in back.items() if n},
                        "photos": len(req.photos),
                        "signed_by": req.signoff.name if req.signoff else None,
                    },
                )
            ]
            events += await self._back_to_work(tx, ticket, actor, now, f"visit done: {req.work_done[:200]}")
            await tx.append(ticket.code, events)
            return await self._reread(tx, ticket.code, visit.id)

    async def cancel(self, code: str, visit_id: UUID, req: CancelRequest, actor: str) -> Visit:
        now = datetime.now(UTC)
        async with self.store.writing() as tx:
            ticket = await self._locked(tx, code)
            visit = await self._visit(tx, ticket.code, visit_id, {"dispatched", "on_site"})
            back = {r.part_number: r.quantity for r in visit.parts}
            await tx.end_visit(visit.model_copy(update={"status": "cancelled", "departed_at": now}), back, {})
            data = {
                "visit_id": str(visit.id),
                "technician": visit.technician_id,
                "reason": req.reason,
                "released": back,
            }
            events = [EventDraft(kind="visit_cancelled", actor=actor, at=now, data=data)]
            events += await self._back_to_work(tx, ticket, actor, now, f"visit cancelled: {req.reason[:200]}")
            await tx.append(ticket.code, events)
            return await self._reread(tx, ticket.code, visit.id)

    # -- helpers ----------------------------------------------------------------------------
    async def _locked(self, tx: OnsiteWrites, code: str) -> Ticket:
        ticket = await tx.locked_ticket(canonical(code))
        if ticket is None:
            raise NotFound(f"no ticket {code}")
        return ticket

    @staticmethod
    def _moved_clock(ticket: Ticket, target: TicketState, now: datetime) -> SlaClock:
        try:
            return change_state(ticket.clock, ticket.status, target, now)
        except InvalidTransition as exc:
            raise Conflict(str(exc), [s.value for s in sorted(TRANSITIONS[ticket.status])]) from None

    @staticmethod
    async def _visit(tx: OnsiteWrites, code: str, visit_id: UUID, states: set[str]) -> Visit:
        visit = await tx.visit(code, visit_id)
        if visit is None:
            raise NotFound(f"no visit {visit_id} on {code}")
        if visit.status not in states:
            raise Conflict(f"the visit is {visit.status}; this needs it {' or '.join(sorted(states))}")
        return visit

    async def _back_to_work(
        self, tx: OnsiteWrites, ticket: Ticket, actor: str, now: datetime, note: str
    ) -> list[EventDraft]:
        if ticket.status is not S.DISPATCHED_ONSITE:
            return []  # moved on meanwhile (by hand, to in_progress or pending_customer): leave it where it is
        clock = self._moved_clock(ticket, S.IN_PROGRESS, now)
        await tx.save_ticket(ticket, status=S.IN_PROGRESS.value, clock=clock)
        moved = {"from": ticket.status.value, "to": S.IN_PROGRESS.value, "note": note}
        return [EventDraft(kind="status_changed", actor=actor, at=now, data=moved)]

    @staticmethod
    async def _reread(tx: OnsiteWrites, code: str, visit_id: UUID) -> Visit:
        visit = await tx.visit(code, visit_id)
        assert visit is not None
        return visit
