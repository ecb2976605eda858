"""The pipeline's objective over a recent window, read from the tickets themselves: how long from
an intake's receipt to its ticket's row (`created_at` is taken in the transaction that commits the
row, so it precedes the commit by at most that transaction's length). Intakes still waiting in Kafka
have no row yet: the worker's lag (`ccdr_tickets_consumer_lag_*`) says how many and how old."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg


@dataclass(frozen=True)
class SloWindow:
    window_s: float
    slo_s: float
    tickets: int  # created in the window
    within: int  # ... within slo_s of their receipt
    p50_s: float | None
    p99_s: float | None
    max_s: float | None

    @property
    def share(self) -> float:
        return self.within / self.tickets if self.tickets else 1.0


async def slo_window(conn: psycopg.AsyncConnection[Any], *, window_s: float, slo_s: float) -> SloWindow:
    """Tickets created in the last `window_s` seconds (index `tickets_created`)."""
    row = await (
        await conn.execute(
            """
            WITH d AS (
                SELECT extract(epoch FROM created_at - received_at)::float8 AS s
                FROM tickets WHERE created_at >= now() - make_interval(secs => %(window)s)
            )
            SELECT count(*), count(*) FILTER (WHERE s <= %(slo)s),
                   percentile_disc(0.5) WITHIN GROUP (ORDER BY s),
                   percentile_disc(0.99) WITHIN GROUP (ORDER BY s), max(s)
            FROM d
            """,
            {"window": window_s, "slo": slo_s},
        )
    ).fetchone()
    assert row is not None  # an aggregate always returns one row
    count, within, p50, p99, worst = row
    return SloWindow(window_s, slo_s, int(count), int(within), p50, p99, worst)
