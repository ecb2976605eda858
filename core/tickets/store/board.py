"""The wallboard's reads (core.tickets.domain.board): a few aggregates over the open tickets (the
partial index tickets_open_assignee keeps them small), escalation events of the last hour, the
roster on duty, and presence."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from psycopg_pool import AsyncConnectionPool

from core.agents.domain.presence import Presence, PresenceUnavailable
from core.agents.store import repository as agents_repo
from core.tickets.domain.board import Board, Escalation, OnDuty, OpenCount
from core.tickets.store.queries import SLA_CONDITIONS

RECENT = timedelta(hours=1)
ESCALATIONS_LISTED = 20


class PgBoard:
    def __init__(self, pool: AsyncConnectionPool[Any], presence: Presence) -> None:
        self.pool = pool
        self.presence = presence

    async def snapshot(self, now: datetime) -> Board:
        sla_case = "CASE " + " ".join(f"WHEN {cond} THEN '{state.value}'" for state, cond in SLA_CONDITIONS.items())
        async with self.pool.connection() as conn:
            open_rows = await (
                await conn.execute(
                    f"""SELECT priority, team, region, {sla_case} END AS sla, count(*)
                        FROM tickets WHERE status NOT IN ('resolved', 'closed')
                        GROUP BY 1, 2, 3, 4"""
                )
            ).fetchall()
            escalations = await (
                await conn.execute(
                    """SELECT e.ticket_code, e.at, e.data->>'to', t.priority, t.team
                       FROM ticket_events e JOIN tickets t ON t.code = e.ticket_code
                       WHERE e.kind = 'escalated' AND e.at >= %s ORDER BY e.at DESC LIMIT %s""",
                    (now - RECENT, ESCALATIONS_LISTED),
                )
            ).fetchall()
            escalated = await (
                await conn.execute(
                    "SELECT count(*) FROM ticket_events WHERE kind = 'escalated' AND at >= %s", (now - RECENT,)
                )
            ).fetchone()
            created = await (
                await conn.execute(
                    "SELECT count(*) FROM tickets WHERE created_at >= %s", (now - timedelta(minutes=15),)
                )
            ).fetchone()
        return Board(
            at=now,
            open=tuple(OpenCount(str(p), str(t), r, str(s), int(n)) for p, t, r, s, n in open_rows),
            escalations=tuple(Escalation(c, at, str(to or "?"), str(p), str(t)) for c, at, to, p, t in escalations),
            on_duty=await self.on_duty(now),
            created_last_15_min=int(created[0]) if created else 0,
            escalations_last_hour=int(escalated[0]) if escalated else 0,
        )

    async def on_duty(self, now: datetime) -> tuple[OnDuty, ...]:
        """Who the roster has on duty now and at which sites they are signed in (presence); the
        ticket page offers them to a supervisor without building the whole board."""
        async with self.pool.connection() as conn:
            shifts = await agents_repo.shifts_at(conn, now)
        try:
            records = await self.presence.everyone()
        except PresenceUnavailable:
            records = []
        where: dict[str, list[str]] = {}
        status: dict[str, str] = {}
        for r in records:
            where.setdefault(str(r.get("agent")), []).append(str(r.get("site")))
            status[str(r.get("agent"))] = str(r.get("status"))
        return tuple(
            OnDuty(
                s.agent_id,
                s.team.value,
                s.region.value,
                s.level.value,
                tuple(sorted(where.get(s.agent_id, []))),
                status.get(s.agent_id),
            )
            for s in sorted(shifts, key=lambda s: (s.team.value, s.level.value, s.agent_id))
        )
