"""PostgreSQL adapter of on-site dispatch (core.tickets.onsite): technicians, travel times, spare
parts and visits, in the same transaction as the ticket they serve."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg.errors import UniqueViolation
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from core.errors import Conflict
from core.tickets.domain.model import EventDraft, SlaClock, Ticket
from core.tickets.domain.onsite import Technician, Warehouse
from core.tickets.onsite import Reservation, Visit
from core.tickets.store import repository as repo

_VISIT = """SELECT v.id, v.ticket_code, v.technician_id, t.name AS technician_name, v.to_place, v.travel_minutes,
                   v.dispatched_at, v.dispatched_by, v.eta, v.status, v.arrived_at, v.departed_at, v.work_done,
                   v.photos, v.signoff
              FROM site_visits v JOIN technicians t ON t.id = v.technician_id"""


async def _parts(conn: repo.Conn, visit_id: UUID) -> list[Reservation]:
    cur = conn.cursor(row_factory=dict_row)
    rows = await (
        await cur.execute(
            """SELECT warehouse_id, part_number, quantity, used, status FROM part_reservations
                WHERE visit_id = %s ORDER BY part_number""",
            (visit_id,),
        )
    ).fetchall()
    return [Reservation.model_validate(r) for r in rows]


async def _visit(conn: repo.Conn, where: str, params: tuple[object, ...]) -> list[Visit]:
    cur = conn.cursor(row_factory=dict_row)
    rows = await (await cur.execute(f"{_VISIT} WHERE {where}", params)).fetchall()
    return [Visit.model_validate({**r, "parts": await _parts(conn, r["id"])}) for r in rows]


@dataclass
class _Writes:
    conn: repo.Conn

    async def locked_ticket(self, code: str) -> Ticket | None:
        return await repo.get_ticket(self.conn, code, for_update=True)

    async def save_ticket(self, ticket: Ticket, *, status: str, clock: SlaClock) -> None:
        await repo.save_ticket(self.conn, ticket, status=status, clock=clock)

    async def append(self, code: str, events: Sequence[EventDraft]) -> None:
        await repo.append_events(self.conn, code, events)

    async def place_of_asset(self, serial: str) -> str | None:
        row = await (await self.conn.execute("SELECT location FROM assets WHERE serial = %s", (serial,))).fetchone()
        return str(row[0]) if row and row[0] else None

    async def technicians(self, skill: str) -> list[Technician]:
        rows = await (
            await self.conn.execute(
                """SELECT id, name, skills, region, current_place, on_duty
                     FROM technicians WHERE %s = ANY (skills) ORDER BY id FOR UPDATE""",
                (skill,),
            )
        ).fetchall()
        # Who is out is read after the lock, in a statement of its own: a dispatch that held the
        # lock before us has committed its visit by now, and a new statement sees it (READ
        # COMMITTED), where a subquery of the locking statement would not.
        out = await (
            await self.conn.execute(
                """SELECT technician_id FROM site_visits
                    WHERE status IN ('dispatched', 'on_site') AND technician_id = ANY (%s)""",
                ([r[0] for r in rows],),
            )
        ).fetchall()
        busy = {r[0] for r in out}
        return [Technician(r[0], r[1], frozenset(r[2]), r[3], r[4], r[5], r[0] in busy) for r in rows]

    async def open_visit(self, code: str) -> UUID | None:
        return await repo.open_visit(self.conn, code)

    async def minutes_to(self, place: str) -> dict[str, int]:
        rows = await (
            await self.conn.execute("SELECT from_place, minutes FROM travel_times WHERE to_place = %s", (place,))
        ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    async def warehouses(self, parts: Sequence[str]) -> list[Warehouse]:
        if not parts:
            return []
        places = dict(await (await self.conn.execute("SELECT id, place FROM warehouses ORDER BY id")).fetchall())
        rows = await (
            await self.conn.execute(
                """SELECT warehouse_id, part_number, quantity FROM spare_parts WHERE part_number = ANY (%s)
                    ORDER BY warehouse_id, part_number FOR UPDATE""",
                (list(parts),),
            )
        ).fetchall()
        stock: dict[str, dict[str, int]] = {w: {} for w in places}
        for wid, part, quantity in rows:
            stock[wid][part] = quantity
        return [Warehouse(w, places[w], stock[w]) for w in sorted(places)]

    async def create_visit(self, visit: Visit, warehouse: str | None, parts: dict[str, int]) -> None:
        try:
            await self._insert_visit(visit)
        except UniqueViolation:
            # Guarded against before (the ticket's open visit, the technicians locked): one more
            # line, so a race we did not foresee is a 409, never a 500.
            raise Conflict("the ticket or the technician has a visit under way; try again") from None
        await self._take_parts(visit, warehouse, parts)

    async def _insert_visit(self, visit: Visit) -> None:
        await self.conn.execute(
            """INSERT INTO site_visits (id, ticket_code, technician_id, to_place, travel_minutes, dispatched_at,
                                        dispatched_by, eta, status)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            (
                visit.id,
                visit.ticket_code,
                visit.technician_id,
                visit.to_place,
                visit.travel_minutes,
                visit.dispatched_at,
                visit.dispatched_by,
                visit.eta,
                visit.status,
            ),
        )

    async def _take_parts(self, visit: Visit, warehouse: str | None, parts: dict[str, int]) -> None:
        for part, quantity in sorted(parts.items()):
            assert warehouse is not None
            await self.conn.execute(
                "UPDATE spare_parts SET quantity = quantity - %s WHERE warehouse_id = %s AND part_number = %s",
                (quantity, warehouse, part),
            )
            await self.conn.execute(
                """INSERT INTO part_reservations (visit_id, warehouse_id, part_number, quantity, status)
                   VALUES (%s, %s, %s, %s, 'reserved')""",
                (visit.id, warehouse, part, quantity),
            )

    async def visit(self, code: str, visit_id: UUID) -> Visit | None:
        found = await _visit(self.conn, "v.ticket_code = %s AND v.id = %s FOR UPDATE OF v", (code, visit_id))
        return found[0] if found else None

    async def end_visit(self, visit: Visit, back: dict[str, int], used: dict[str, int]) -> None:
        await self.conn.execute(
            """UPDATE site_visits SET status = %s, arrived_at = %s, departed_at = %s, work_done = %s, photos = %s,
                      signoff = %s WHERE id = %s""",
            (
                visit.status,
                visit.arrived_at,
                visit.departed_at,
                visit.work_done,
                Jsonb(visit.photos),
                Jsonb(visit.signoff) if visit.signoff is not None else None,
                visit.id,
            ),
        )
        for r in visit.parts:
            if r.part_number not in back:
                continue  # the visit goes on (arrival): its parts stay reserved
            n_used = used.get(r.part_number, 0)
            await self.conn.execute(
                """UPDATE part_reservations SET used = %s, status = %s
                    WHERE visit_id = %s AND warehouse_id = %s AND part_number = %s""",
                (n_used, "used" if n_used else "released", visit.id, r.warehouse_id, r.part_number),
            )
            await self.conn.execute(
                "UPDATE spare_parts SET quantity = quantity + %s WHERE warehouse_id = %s AND part_number = %s",
                (back[r.part_number], r.warehouse_id, r.part_number),
            )

    async def move_technician(self, technician_id: str, place: str) -> None:
        await self.conn.execute("UPDATE technicians SET current_place = %s WHERE id = %s", (place, technician_id))


@dataclass
class PgOnsiteStore:
    pool: AsyncConnectionPool[Any]

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[_Writes]:
        async with self.pool.connection() as conn, conn.transaction():
            yield _Writes(conn)

    async def visits(self, code: str) -> list[Visit] | None:
        async with self.pool.connection() as conn:
            if await (await conn.execute("SELECT 1 FROM tickets WHERE code = %s", (code,))).fetchone() is None:
                return None
            return await _visit(conn, "v.ticket_code = %s ORDER BY v.dispatched_at", (code,))
