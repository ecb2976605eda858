"""SQL for the singletons that act on tickets (SLA clock, dispatcher). Thin: reads snapshots,
writes one fenced event per action; the decisions are in core.tickets.sla_clock and
core.agents.dispatch.

A fenced event carries the leader's role and epoch (PostgreSQL refuses a stale one, SQLSTATE
CCF01) and, for scheduled actions, a key unique per ticket (a second attempt is a no-op).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import errors
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from core.domain.escalation import EscalationChain, SupportLevel
from core.domain.priority import Priority
from core.domain.ticket_states import TicketState
from core.tickets.repository import Conn
from core.tickets.sla_clock import ClockAction, ClockView, due_actions


@dataclass(frozen=True)
class Fence:
    role: str
    epoch: int
    actor: str  # e.g. "sla-clock@b"


_VIEW_COLUMNS = """
    t.code, t.status, t.priority, t.support_level, t.received_at, t.level_since, t.escalation,
    t.response_due, t.response_warn_at, t.resolution_due, t.resolution_warn_at, t.responded_at, t.resolved_at,
    COALESCE((SELECT array_agg(e.action_key) FROM ticket_events e
              WHERE e.ticket_code = t.code AND e.action_key IS NOT NULL), '{}') AS done
"""


def _view(row: dict[str, Any]) -> ClockView:
    return ClockView(
        code=row["code"],
        status=TicketState(row["status"]),
        priority=Priority(row["priority"]),
        level=SupportLevel(row["support_level"]),
        opened_at=row["received_at"],
        level_since=row["level_since"] or row["received_at"],
        chain=EscalationChain.model_validate(row["escalation"] or {}),
        response_due=row["response_due"],
        response_warn_at=row["response_warn_at"],
        resolution_due=row["resolution_due"],
        resolution_warn_at=row["resolution_warn_at"],
        responded_at=row["responded_at"],
        resolved_at=row["resolved_at"],
        done=frozenset(row["done"]),
    )


async def clock_views(conn: Conn, *, after: str, limit: int, followup_days: int = 4) -> list[ClockView]:
    """Open tickets, and tickets resolved recently enough to be followed up, in code order."""
    cur = conn.cursor(row_factory=dict_row)
    rows = await (
        await cur.execute(
            f"""SELECT {_VIEW_COLUMNS} FROM tickets t
                WHERE t.code > %s AND (t.status NOT IN ('resolved', 'closed')
                      OR t.resolved_at > now() - make_interval(days => %s))
                ORDER BY t.code LIMIT %s""",
            (after, followup_days, limit),
        )
    ).fetchall()
    return [_view(r) for r in rows]


async def locked_view(conn: Conn, code: str) -> ClockView | None:
    """The ticket's view, its row locked until the transaction ends (one round trip)."""
    cur = conn.cursor(row_factory=dict_row)
    query = f"SELECT {_VIEW_COLUMNS} FROM tickets t WHERE t.code = %s FOR UPDATE OF t"
    row = await (await cur.execute(query, (code,))).fetchone()
    return _view(row) if row else None


async def append_fenced(
    conn: Conn, code: str, kind: str, at: datetime, data: dict[str, Any], fence: Fence, action_key: str | None = None
) -> None:
    """Append one event carrying the fence (and the action key); callers hold the row lock."""
    row = await (
        await conn.execute(
            "UPDATE tickets SET version = version + 1, updated_at = now() WHERE code = %s RETURNING version", (code,)
        )
    ).fetchone()
    if row is None:
        raise LookupError(code)
    await conn.execute(
        """INSERT INTO ticket_events (ticket_code, seq, kind, actor, at, data, fencing_role, fencing_epoch, action_key)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        (code, int(row[0]), kind, fence.actor, at, Jsonb(data), fence.role, fence.epoch, action_key),
    )


async def record_clock_action(conn: Conn, action: ClockAction, fence: Fence, now: datetime) -> bool:
    """Record one SLA-clock action if it is still due on the locked ticket; False if not (any more)."""
    async with conn.transaction():
        view = await locked_view(conn, action.code)
        if view is None or action.key not in {a.key for a in due_actions(view, now)}:
            return False
        data = {**action.data, "due_at": action.due_at.isoformat()}
        try:
            async with conn.transaction():  # a savepoint: a duplicate key leaves the outer one usable
                await append_fenced(conn, action.code, action.kind, now, data, fence, action.key)
        except errors.UniqueViolation:
            return False
        if action.escalate_to is not None:
            await conn.execute(
                """UPDATE tickets SET support_level = %s, level_since = %s, assignee = NULL, assigned_at = NULL
                   WHERE code = %s""",
                (action.escalate_to.value, action.due_at, action.code),
            )
        elif action.kind == "emergency_plan":
            await conn.execute("UPDATE tickets SET emergency_at = %s WHERE code = %s", (now, action.code))
    return True


async def assign(
    conn: Conn, code: str, agent: str, expected: str | None, reason: str, fence: Fence, now: datetime
) -> bool:
    """Assign `code` to `agent` if its assignee is still `expected` (None: unassigned)."""
    async with conn.transaction():
        row = await (
            await conn.execute("SELECT assignee, status FROM tickets WHERE code = %s FOR UPDATE", (code,))
        ).fetchone()
        if row is None or row[0] != expected or row[1] in (TicketState.RESOLVED, TicketState.CLOSED):
            return False
        data = {"agent": agent, "previous": expected, "reason": reason}
        await append_fenced(conn, code, "assigned", now, data, fence)
        await conn.execute("UPDATE tickets SET assignee = %s, assigned_at = %s WHERE code = %s", (agent, now, code))
    return True


async def open_assignments(conn: Conn) -> list[tuple[str, str | None, str, str | None, str]]:
    """(code, assignee, team, region, support_level) of every open ticket."""
    rows = await (
        await conn.execute(
            """SELECT code, assignee, team, region, support_level FROM tickets
               WHERE status NOT IN ('resolved', 'closed') ORDER BY created_at, code"""
        )
    ).fetchall()
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]
