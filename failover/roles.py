"""The singleton roles' work: one unit per tick, only while the runner may act.

Each write carries the term's epoch (core.tickets.clock_store.Fence); PostgreSQL refuses it if
a newer leader exists, which ends our term (StaleTerm).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg_pool import AsyncConnectionPool

from core.agents import dispatch
from core.agents import repository as agents_repo
from core.domain.escalation import SupportLevel
from core.domain.routing import Team
from core.domain.taxonomy import Region
from core.tickets import clock_store
from core.tickets.sla_clock import due_actions
from failover.coordination import Coordination
from failover.election import Singleton
from failover.fencing import stale_epoch_ends_term

log = logging.getLogger(__name__)

SLA_CLOCK = "sla-clock"
DISPATCHER = "dispatcher"
Now = Callable[[], datetime]


def _fence(runner: Singleton) -> clock_store.Fence:
    assert runner.term is not None
    return clock_store.Fence(runner.role, runner.term.epoch, f"{runner.role}@{runner.coord.site}")


class SlaClock:
    """Scans open tickets and records every due SLA warning, breach, escalation, reminder and
    follow-up as a fenced ticket event."""

    def __init__(self, pool: AsyncConnectionPool[Any], batch: int, now: Now = lambda: datetime.now(UTC)) -> None:
        self.pool = pool
        self.batch = batch
        self.now = now

    async def __call__(self, runner: Singleton) -> None:
        after = ""
        while runner.may_act():
            async with self.pool.connection() as conn:
                views = await clock_store.clock_views(conn, after=after, limit=self.batch)
                for view in views:
                    for action in due_actions(view, self.now()):
                        if not runner.may_act():
                            return  # fenced mid-scan: stop at once
                        with stale_epoch_ends_term():
                            done = await clock_store.record_clock_action(conn, action, _fence(runner), self.now())
                        if done:
                            log.info(
                                "sla-clock: %s %s (%s)",
                                action.code,
                                action.key,
                                action.kind,
                                extra={"ticket": action.code, "epoch": _fence(runner).epoch},
                            )
            if len(views) < self.batch:
                return
            after = views[-1].code


class Dispatcher:
    """Assigns new tickets and re-routes those of absent agents, from the duty roster and
    presence."""

    def __init__(
        self, pool: AsyncConnectionPool[Any], coord: Coordination, grace_s: float, now: Now = lambda: datetime.now(UTC)
    ) -> None:
        self.pool = pool
        self.coord = coord
        self.grace = timedelta(seconds=grace_s)
        self.now = now
        self.absent_since: dict[str, datetime] = {}

    async def __call__(self, runner: Singleton) -> None:
        presence = await asyncio.to_thread(self.coord.members, "presence")
        present = {str(p.get("agent")) for p in presence.values()}
        available = {str(p.get("agent")) for p in presence.values() if p.get("status") == "available"}
        now = self.now()
        async with self.pool.connection() as conn:
            rows = await clock_store.open_assignments(conn)
            shifts = await agents_repo.shifts_at(conn, now)
            tickets = [
                dispatch.OpenTicket(code, assignee, Team(team), Region(region) if region else None, SupportLevel(level))
                for code, assignee, team, region, level in rows
            ]
            self.absent_since = dispatch.absences(
                self.absent_since, (t.assignee for t in tickets if t.assignee), present, now
            )
            for a in dispatch.plan(tickets, shifts, available, self.absent_since, self.grace, now):
                if not runner.may_act():
                    return
                with stale_epoch_ends_term():
                    done = await clock_store.assign(conn, a.code, a.agent, a.expected, a.reason, _fence(runner), now)
                if done:
                    log.info("dispatcher: %s -> %s (%s)", a.code, a.agent, a.reason, extra={"ticket": a.code})
