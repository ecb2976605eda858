"""Ticket lists: filters, full-text search and keyset pagination (stable under inserts)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from core.errors import InvalidInput
from core.tickets.domain.filters import TicketFilter
from core.tickets.domain.lifecycle import ClockState
from core.tickets.domain.model import Ticket
from core.tickets.store import repository as repo

# Mirrors core.tickets.domain.lifecycle.ticket_sla_state (keep them together); the integration tests
# filter by these states.
_BREACHED = """((response_due IS NOT NULL AND coalesce(responded_at, now()) > response_due)
             OR (resolution_due IS NOT NULL AND coalesce(resolved_at, now()) > resolution_due))"""
_WARNING = f"""(NOT {_BREACHED} AND status NOT IN ('pending_customer', 'resolved', 'closed')
             AND ((responded_at IS NULL AND response_warn_at IS NOT NULL AND now() > response_warn_at)
                  OR (resolution_warn_at IS NOT NULL AND now() > resolution_warn_at)))"""
SLA_CONDITIONS = {
    ClockState.BREACHED: _BREACHED,
    ClockState.PAUSED: f"(NOT {_BREACHED} AND status = 'pending_customer')",
    ClockState.WARNING: _WARNING,
    ClockState.ON_TRACK: f"(NOT {_BREACHED} AND status <> 'pending_customer' AND NOT {_WARNING})",
}


def encode_cursor(created_at: datetime, code: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{code}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, code = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(created), code
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("cursor: not a cursor this API returned", malformed=True) from None


async def list_tickets(
    conn: repo.Conn, flt: TicketFilter, limit: int, cursor: str | None
) -> tuple[list[Ticket], str | None]:
    where: list[str] = []
    params: dict[str, Any] = {"limit": limit + 1}
    for column in ("status", "priority", "team", "region", "assignee"):
        value = getattr(flt, column)
        if value is not None:
            where.append(f"{column} = %({column})s")
            params[column] = value
    if flt.open_only:
        where.append("status NOT IN ('resolved', 'closed')")
    if flt.sla_state is not None:
        where.append(SLA_CONDITIONS[flt.sla_state])
    if flt.q:
        where.append("search @@ websearch_to_tsquery('simple', %(q)s)")
        params["q"] = flt.q
    if cursor:
        params["c_at"], params["c_code"] = decode_cursor(cursor)
        where.append("(created_at, code) < (%(c_at)s, %(c_code)s)")
    sql = f"SELECT {repo.TICKET_COLUMNS} FROM tickets"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY created_at DESC, code DESC LIMIT %(limit)s"
    cur = conn.cursor(row_factory=dict_row)
    rows = await (await cur.execute(sql, params)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    tickets = [repo.row_to_ticket(r) for r in rows]
    last = tickets[-1] if more and tickets else None
    next_cursor = encode_cursor(last.created_at, last.code) if last and last.created_at else None
    return tickets, next_cursor
