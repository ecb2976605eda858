"""The drill scheduler: a leader-elected singleton that runs the calendar's drills.

Several candidates may run (`ccdr drill scheduler --candidate NAME`, on hosts outside the data
sites: a scheduler inside site a would kill itself in a site-a drill); the `drill-scheduler`
role in ZooKeeper picks one, with a fencing epoch registered in PostgreSQL like every singleton
(failover/election.py). Per tick the leader asks the pure `schedule.decide` what to do, probes the
steady state when a drill is due, and records every fire it acts on, run or skipped, in
`drill_schedule_runs` (one row per drill and fire, written with its epoch) before it runs it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Protocol

from drills.schedule import Calendar, Decision, ScheduledDrill, decide
from failover.coordination import Term
from failover.election import Singleton

log = logging.getLogger(__name__)

ROLE = "drill-scheduler"


class ScheduleStore(Protocol):
    async def last_fired(self) -> Mapping[str, datetime]: ...

    async def record(self, decision: Decision, term: Term, scheduler: str) -> bool:
        """Record a fire acted on; False when it was recorded already (by this or another leader)."""
        ...

    async def attach_report(self, decision: Decision, report_id: str | None) -> None: ...


CALENDAR_POLL_S = 10.0  # the calendar is in minutes: no need to ask every election tick


class DrillScheduler:
    """The work of the `drill-scheduler` singleton: one decision per tick, at most one drill at a time."""

    def __init__(
        self,
        name: str,
        calendar: Callable[[], Calendar],
        store: ScheduleStore,
        steady_state: Callable[[], Awaitable[bool]],
        execute: Callable[[ScheduledDrill], Awaitable[str | None]],
        clock: Callable[[], datetime],
        poll_s: float = CALENDAR_POLL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.calendar = calendar
        self.store = store
        self.steady_state = steady_state
        self.execute = execute
        self.clock = clock
        self.poll_s = poll_s  # the calendar is in minutes: no need to ask every election tick
        self.monotonic = monotonic
        self._next_poll = float("-inf")
        self.running: ScheduledDrill | None = None
        self.last: Decision | None = None

    async def __call__(self, singleton: Singleton) -> None:
        if self.running is not None or self.monotonic() < self._next_poll:
            return
        self._next_poll = self.monotonic() + self.poll_s
        cal = self.calendar()
        last_fired = await self.store.last_fired()
        decision = decide(cal, self.clock(), last_fired=last_fired, drill_running=False, steady_state_ok=None)
        if decision.action == "check":
            ok = await self.steady_state()
            decision = decide(cal, self.clock(), last_fired=last_fired, drill_running=False, steady_state_ok=ok)
        self._log(decision)
        if decision.action not in ("run", "skip") or decision.drill is None:
            return
        term = singleton.term
        if term is None or not singleton.may_act():
            return  # lost the role while deciding: the next leader decides again
        if not await self.store.record(decision, term, self.name):
            return  # this fire was acted on already
        if decision.action == "skip":
            return
        self.running = decision.drill
        try:
            report_id = await self.execute(decision.drill)
        finally:
            self.running = None
        await self.store.attach_report(decision, report_id)

    def _log(self, decision: Decision) -> None:
        if self.last is None or (decision.action, decision.reason) != (self.last.action, self.last.reason):
            level = logging.DEBUG if decision.action == "wait" else logging.INFO
            log.log(level, "scheduler %s: %s", self.name, decision.reason)
        self.last = decision
