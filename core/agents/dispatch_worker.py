"""The dispatcher: the work of the `dispatcher` singleton (elected by the failover layer, which
hands it a Lease). Assigns new tickets and re-routes those of absent agents, from the duty roster
and presence; the decisions are core.agents.domain.dispatch's, every assignment a fenced write."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from core.agents.domain import dispatch
from core.agents.domain.presence import Presence, Status
from core.agents.ports import DispatchStore
from core.leases import Lease

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self,
        store: DispatchStore,
        presence: Presence,
        grace_s: float,
        batch: int,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.presence = presence
        self.grace = timedelta(seconds=grace_s)
        self.batch = batch
        self.now = now
        self.absent_since: dict[str, datetime] = {}

    async def __call__(self, lease: Lease) -> None:
        """One pass; raises FencedOut when a newer leader exists (PresenceUnavailable when presence
        cannot be read: nobody is judged absent on a guess)."""
        records = await self.presence.everyone()
        present = {str(p.get("agent")) for p in records}
        available = {str(p.get("agent")) for p in records if p.get("status") == Status.AVAILABLE.value}
        now = self.now()
        async with self.store.session() as db:
            # Absence is tracked for every agent (a small table), so only the tickets that need
            # someone are read: unassigned ones and those of agents absent past the grace.
            self.absent_since = dispatch.absences(self.absent_since, await db.agents(), present, now)
            overdue = [a for a, since in self.absent_since.items() if now - since >= self.grace]
            shifts = await db.shifts_at(now)
            tickets = await db.work(dispatch.takers(shifts, available), overdue, self.batch)
            if not tickets:
                return
            load = await db.load()
            for a in dispatch.plan(tickets, shifts, available, self.absent_since, self.grace, now, load):
                if not lease.may_act():
                    return
                if await db.assign(a, lease.fence(), now):
                    log.info("dispatcher: %s -> %s (%s)", a.code, a.agent, a.reason, extra={"ticket": a.code})
