"""The facts the desk's KPIs are computed from (core.tickets.domain.kpi): tickets received in a
period, with whether each was ever reopened (a status change from resolved or closed back to work)
and how many on-site visits it took,
and the older tickets still open at the period's end (its backlog)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from core.tickets.domain.kpi import TicketFacts


async def facts(conn: psycopg.AsyncConnection[Any], start: datetime, end: datetime) -> list[TicketFacts]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """
            SELECT t.code, t.priority, t.team, t.region, t.asset_serial, t.customer_id, t.received_at, t.response_due,
                   t.responded_at, t.resolution_due, t.resolved_at, t.csat_score, t.root_cause,
                   EXISTS (SELECT 1 FROM ticket_events e
                           WHERE e.ticket_code = t.code AND e.kind = 'status_changed'
                             AND e.data->>'from' IN ('resolved', 'closed')) AS reopened,
                   (SELECT count(*) FROM site_visits v
                    WHERE v.ticket_code = t.code AND v.status = 'done')::int AS visits
            FROM tickets t
            WHERE (t.received_at >= %(start)s AND t.received_at < %(end)s)
               OR (t.received_at < %(start)s AND (t.resolved_at IS NULL OR t.resolved_at >= %(end)s))
            """,
            {"start": start, "end": end},
        )
        rows = await cur.fetchall()
    return [TicketFacts(**row) for row in rows]


__all__ = ["facts"]
