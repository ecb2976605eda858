"""SQL for the singletons that act on tickets (SLA clock, dispatcher). Thin: reads snapshots,
writes one fenced event per action; the decisions are in core.tickets.domain.sla_clock and
core.agents.domain.dispatch.

A fenced event carries the leader's role and epoch (PostgreSQL refuses a stale one, SQLSTATE
CCF01) and, for scheduled actions, a key unique per ticket (a second attempt is a no-op).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from psycopg import errors
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from core.domain.escalation import EscalationChain, SupportLevel
from core.domain.priority import Priority
from core.domain.ticket_states import TicketState
from core.leases import Fence
from core.tickets.domain.sla_clock import ClockAction, ClockView, due_actions, next_look
from core.tickets.store.repository import Conn

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


async def due_views(conn: Conn, *, now: datetime, limit: int) -> list[ClockView]:
    """Tickets the clock must look at now, most overdue first: found by index (tickets_clock_due),
    so the cost follows the due work, not the number of open tickets."""
    cur = conn.cursor(row_factory=dict_row)
    rows = await (
        await cur.execute(
            f"""SELECT {_VIEW_COLUMNS} FROM tickets t
                WHERE t.clock_due_at <= %s ORDER BY t.clock_due_at, t.code LIMIT %s""",
            (now, limit),
        )
    ).fetchall()
    return [_view(r) for r in rows]


async def reschedule(conn: Conn, code: str, now: datetime, horizon: timedelta) -> datetime | None:
    """Set when the clock must next look at `code`, from its locked view; returns it (None: never,
    unless the ticket changes, which the tickets_mark_due trigger notices)."""
    async with conn.transaction():
        view = await locked_view(conn, code)
        if view is None:
            return None
        due = next_look(view, now, horizon)
        await conn.execute("UPDATE tickets SET clock_due_at = %s WHERE code = %s", (due, code))
        return due


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


async def agent_ids(conn: Conn) -> list[str]:
    return [r[0] for r in await (await conn.execute("SELECT id FROM agents ORDER BY id")).fetchall()]


_DISPATCH_COLUMNS = "code, assignee, team, region, support_level, created_at"
_OPEN = "status NOT IN ('resolved', 'closed')"


async def dispatch_work(
    conn: Conn, takers: list[tuple[str, str, str]], absent: list[str], limit: int
) -> list[tuple[str, str | None, str, str | None, str]]:
    """(code, assignee, team, region, support_level) of the open tickets the dispatcher can act on,
    oldest first: unassigned ones of a (team, level, region) someone on duty and present covers
    (`takers`; a ticket without a region matches any), and those whose assignee is in `absent`.
    Each part is an index range (tickets_open_unassigned, tickets_open_assignee): tickets nobody
    can take now are not read at all."""
    parts, params = [], []
    for team, level, region in takers:
        parts.append(
            f"""(SELECT {_DISPATCH_COLUMNS} FROM tickets WHERE assignee IS NULL AND {_OPEN}
                 AND team = %s AND support_level = %s AND (region = %s OR region IS NULL)
                 ORDER BY created_at, code LIMIT %s)"""
        )
        params += [team, level, region, limit]
    if absent:
        parts.append(
            f"""(SELECT {_DISPATCH_COLUMNS} FROM tickets WHERE assignee = ANY(%s) AND {_OPEN}
                 ORDER BY created_at, code LIMIT %s)"""
        )
        params += [absent, limit]
    if not parts:
        return []
    query = f"SELECT DISTINCT ON (created_at, code) * FROM ({' UNION ALL '.join(parts)}) w ORDER BY created_at, code"
    rows = await (await conn.execute(query, params)).fetchall()
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows[:limit]]


async def open_load(conn: Conn) -> dict[str, int]:
    """Open tickets per assignee (an index-only scan of tickets_open_assignee)."""
    rows = await (
        await conn.execute(
            """SELECT assignee, count(*) FROM tickets
               WHERE assignee IS NOT NULL AND status NOT IN ('resolved', 'closed') GROUP BY assignee"""
        )
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows}
