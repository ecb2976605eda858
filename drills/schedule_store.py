"""The scheduler's record in PostgreSQL (`drill_schedule_runs`, migration 0005), fenced by epoch."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from drills.schedule import Decision
from failover.coordination import Term
from failover.fencing import stale_epoch_ends_term


class PostgresScheduleStore:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    async def last_fired(self) -> Mapping[str, datetime]:
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT drill, max(due_at) FROM drill_schedule_runs GROUP BY drill")
            return {name: at for name, at in await cur.fetchall()}

    async def record(self, decision: Decision, term: Term, scheduler: str) -> bool:
        assert decision.drill is not None and decision.due_at is not None
        with stale_epoch_ends_term():
            async with self.pool.connection() as conn, conn.transaction():
                await conn.execute("SELECT ccdr_fence(%s, %s, %s)", (term.role, term.epoch, term.holder))
                cur = await conn.execute(
                    """INSERT INTO drill_schedule_runs (drill, due_at, action, reason, scheduler, fencing_epoch)
                       VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING""",
                    (decision.drill.name, decision.due_at, decision.action, decision.reason, scheduler, term.epoch),
                )
                return cur.rowcount == 1

    async def attach_report(self, decision: Decision, report_id: str | None) -> None:
        assert decision.drill is not None
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE drill_schedule_runs SET report_id = %s WHERE drill = %s AND due_at = %s",
                (report_id, decision.drill.name, decision.due_at),
            )
