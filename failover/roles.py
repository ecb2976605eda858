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

Now = Callable[[], datetime]


def _fence(runner: Singleton) -> clock_store.Fence:
    assert runner.term is not None
    return clock_store.Fence(runner.role, runner.term.epoch, f"{runner.role}@{runner.coord.site}")


class SlaClock:
    """Records every due SLA warning, breach, escalation, reminder and follow-up as a fenced ticket
    event. It reads only the tickets whose `clock_due_at` has come (by index), and sets each one's
    next due time after acting, so a pass costs what is due, not what is open."""

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        batch: int,
        horizon: timedelta,
        now: Now = lambda: datetime.now(UTC),
    ) -> None:
        self.pool = pool
        self.batch = batch
        self.horizon = horizon  # a ticket with nothing due sooner is looked at again after this
        self.now = now

    async def __call__(self, runner: Singleton) -> None:
        seen: set[str] = set()
        while runner.may_act():
            async with self.pool.connection() as conn:
                views = await clock_store.due_views(conn, now=self.now(), limit=self.batch)
                fresh = [v for v in views if v.code not in seen]
                for view in fresh:
                    for action in due_actions(view, self.now()):
                        if not runner.may_act():
                            return  # fenced mid-pass: stop at once
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
                    if not runner.may_act():
                        return
                    await clock_store.reschedule(conn, view.code, self.now(), self.horizon)
                    seen.add(view.code)
            # A ticket still due after its pass (an action that could not be recorded) waits for
            # the next tick rather than spinning here.
            if len(views) < self.batch or not fresh:
                return


class Dispatcher:
    """Assigns new tickets and re-routes those of absent agents, from the duty roster and
    presence."""

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        coord: Coordination,
        grace_s: float,
        batch: int,
        now: Now = lambda: datetime.now(UTC),
    ) -> None:
        self.pool = pool
        self.coord = coord
        self.grace = timedelta(seconds=grace_s)
        self.batch = batch
        self.now = now
        self.absent_since: dict[str, datetime] = {}

    async def __call__(self, runner: Singleton) -> None:
        presence = await asyncio.to_thread(self.coord.members, "presence")
        present = {str(p.get("agent")) for p in presence.values()}
        available = {str(p.get("agent")) for p in presence.values() if p.get("status") == "available"}
        now = self.now()
        async with self.pool.connection() as conn:
            # Absence is tracked for every agent (a small table), so only the tickets that need
            # someone are read: unassigned ones and those of agents absent past the grace.
            self.absent_since = dispatch.absences(self.absent_since, await clock_store.agent_ids(conn), present, now)
            overdue = [a for a, since in self.absent_since.items() if now - since >= self.grace]
            shifts = await agents_repo.shifts_at(conn, now)
            rows = await clock_store.dispatch_work(conn, dispatch.takers(shifts, available), overdue, self.batch)
            if not rows:
                return
            tickets = [
                dispatch.OpenTicket(code, assignee, Team(team), Region(region) if region else None, SupportLevel(level))
                for code, assignee, team, region, level in rows
            ]
            load = await clock_store.open_load(conn)
            for a in dispatch.plan(tickets, shifts, available, self.absent_since, self.grace, now, load):
                if not runner.may_act():
                    return
                with stale_epoch_ends_term():
                    done = await clock_store.assign(conn, a.code, a.agent, a.expected, a.reason, _fence(runner), now)
                if done:
                    log.info("dispatcher: %s -> %s (%s)", a.code, a.agent, a.reason, extra={"ticket": a.code})
