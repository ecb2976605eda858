"""The SLA clock: the work of the `sla-clock` singleton (elected by the failover layer, which
hands it a Lease). Records every due SLA warning, breach, escalation, reminder and follow-up as a
fenced ticket event. It reads only the tickets whose `clock_due_at` has come (by index), and sets
each one's next due time after acting, so a pass costs what is due, not what is open."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from core.leases import Lease
from core.tickets.domain.sla_clock import due_actions
from core.tickets.ports import ClockStore

log = logging.getLogger(__name__)


class SlaClock:
    def __init__(
        self,
        store: ClockStore,
        batch: int,
        horizon: timedelta,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.batch = batch
        self.horizon = horizon  # a ticket with nothing due sooner is looked at again after this
        self.now = now

    async def __call__(self, lease: Lease) -> None:
        """One pass over what is due; raises FencedOut when a newer leader exists."""
        seen: set[str] = set()
        while lease.may_act():
            async with self.store.session() as clock:
                views = await clock.due(self.now(), self.batch)
                fresh = [v for v in views if v.code not in seen]
                for view in fresh:
                    for action in due_actions(view, self.now()):
                        if not lease.may_act():
                            return  # fenced mid-pass: stop at once
                        fence = lease.fence()
                        done = await clock.record(action, fence, self.now())  # FencedOut: a newer leader
                        if done:
                            log.info(
                                "sla-clock: %s %s (%s)",
                                action.code,
                                action.key,
                                action.kind,
                                extra={"ticket": action.code, "epoch": fence.epoch},
                            )
                    if not lease.may_act():
                        return
                    await clock.reschedule(view.code, self.now(), self.horizon)
                    seen.add(view.code)
            # A ticket still due after its pass (an action that could not be recorded) waits for
            # the next tick rather than spinning here.
            if len(views) < self.batch or not fresh:
                return
