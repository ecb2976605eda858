"""The drill scheduler singleton on an in-memory coordination port: one leader runs each fire once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta

from drills.schedule import Calendar, Decision, ScheduledDrill, parse_calendar
from drills.scheduler import ROLE, DrillScheduler
from failover.coordination import Term
from failover.election import Singleton, StaleTerm
from tests.unit.failover.memory import Ensemble, MemoryCoordination

CALENDAR = """
timezone = "UTC"
max_catch_up_s = 3600
[[drill]]
name = "nightly-site-loss-a"
scenario = "site-loss-a"
cron = "0 3 * * *"
duration_s = 60
[[blackout]]
name = "freeze"
start = "2026-12-24T00:00:00+00:00"
end = "2026-12-27T00:00:00+00:00"
"""
DUE = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


class MemoryStore:
    """drill_schedule_runs in memory: unique per (drill, fire), fenced like ccdr_fence."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, datetime], dict[str, object]] = {}
        self.newest_epoch = 0

    async def last_fired(self) -> Mapping[str, datetime]:
        last: dict[str, datetime] = {}
        for name, due in self.rows:
            last[name] = max(due, last.get(name, due))
        return last

    async def record(self, decision: Decision, term: Term, scheduler: str) -> bool:
        assert decision.drill is not None and decision.due_at is not None
        if term.epoch < self.newest_epoch:
            raise StaleTerm(f"{term.epoch} < {self.newest_epoch}")
        self.newest_epoch = term.epoch
        key = (decision.drill.name, decision.due_at)
        if key in self.rows:
            return False
        self.rows[key] = {"action": decision.action, "reason": decision.reason, "by": scheduler, "report": None}
        return True

    async def attach_report(self, decision: Decision, report_id: str | None) -> None:
        assert decision.drill is not None and decision.due_at is not None
        self.rows[(decision.drill.name, decision.due_at)]["report"] = report_id


class Harness:
    def __init__(self, now: datetime, steady: bool = True) -> None:
        self.now = now
        self.steady = steady
        self.calendar: Calendar = parse_calendar(CALENDAR)
        self.store = MemoryStore()
        self.executed: list[tuple[str, str]] = []
        self.ensemble = Ensemble()
        self.singletons: dict[str, Singleton] = {}
        for name in ("ops-1", "ops-2"):
            coord = MemoryCoordination(self.ensemble, name)
            coord.start(1)
            work = DrillScheduler(
                name,
                lambda: self.calendar,
                self.store,
                self._steady,
                self._executor(name),
                lambda: self.now,
                poll_s=0,
            )
            self.singletons[name] = Singleton(ROLE, name, coord, self.store_register, work)

    async def store_register(self, term: Term) -> None:
        if term.epoch < self.store.newest_epoch:
            raise StaleTerm("stale")
        self.store.newest_epoch = term.epoch

    async def _steady(self) -> bool:
        return self.steady

    def _executor(self, name: str) -> Callable[[ScheduledDrill], Awaitable[str | None]]:
        async def execute(drill: ScheduledDrill) -> str | None:
            self.executed.append((name, drill.scenario))
            return f"report-{len(self.executed)}"

        return execute

    def ticks(self, n: int = 3) -> None:
        async def main() -> None:
            for _ in range(n):
                for s in self.singletons.values():
                    await s.tick()

        asyncio.run(main())


def test_only_the_leader_runs_a_due_drill_and_only_once() -> None:
    h = Harness(DUE + timedelta(minutes=1))
    h.ticks(4)
    assert h.executed == [("ops-1", "site-loss-a")]
    row = h.store.rows[("nightly-site-loss-a", DUE)]
    assert row["action"] == "run" and row["by"] == "ops-1" and row["report"] == "report-1"


def test_a_new_leader_does_not_repeat_a_fire_already_acted_on() -> None:
    h = Harness(DUE + timedelta(minutes=1))
    h.ticks(3)
    old = h.singletons["ops-1"].coord
    assert isinstance(old, MemoryCoordination) and old.session_id is not None
    h.ensemble.expire(old.session_id)  # ops-1's host dies; ops-2 takes the role
    del h.singletons["ops-1"]
    h.ticks(4)
    assert h.singletons["ops-2"].leading
    assert h.executed == [("ops-1", "site-loss-a")]


def test_failing_steady_state_skips_the_fire_and_records_why() -> None:
    h = Harness(DUE + timedelta(minutes=1), steady=False)
    h.ticks(3)
    assert h.executed == []
    row = h.store.rows[("nightly-site-loss-a", DUE)]
    assert row["action"] == "skip" and "steady state" in str(row["reason"])


def test_a_blackout_skips_the_fire() -> None:
    h = Harness(datetime(2026, 12, 25, 3, 1, tzinfo=UTC))
    h.ticks(3)
    assert h.executed == []
    assert "blackout" in str(h.store.rows[("nightly-site-loss-a", datetime(2026, 12, 25, 3, 0, tzinfo=UTC))]["reason"])


def test_nothing_due_does_nothing() -> None:
    h = Harness(DUE - timedelta(hours=2))
    h.ticks(3)
    assert h.executed == [] and h.store.rows == {}
