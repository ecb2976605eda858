"""Leader election and fencing, decided on snapshots and run against the in-memory port."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import pytest

from failover.coordination import SessionState, Term
from failover.election import Decision, RoleView, Singleton, StaleTerm, Step, Work, decide
from tests.unit.failover.memory import Ensemble, MemoryCoordination

TERM = Term("sla-clock", "a", 7, 0.0, 42)


def view(**kw: object) -> RoleView:
    base: dict[str, object] = {
        "role": "sla-clock",
        "session": SessionState.CONNECTED,
        "mine": None,
        "leader": None,
        "leader_read": True,
        "registered": False,
    }
    return RoleView(**{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "step"),
    [
        ({}, Step.ACQUIRE),
        ({"leader": TERM}, Step.STAND_BY),
        ({"mine": TERM, "leader": TERM}, Step.REGISTER),
        ({"mine": TERM, "leader": TERM, "registered": True}, Step.LEAD),
        ({"mine": TERM, "leader": None, "registered": True}, Step.RELINQUISH),
        ({"mine": TERM, "leader": Term("sla-clock", "b", 8, 0.0, 43), "registered": True}, Step.RELINQUISH),
        ({"mine": TERM, "leader": Term("sla-clock", "a", 7, 0.0, 99), "registered": True}, Step.RELINQUISH),
        ({"mine": TERM, "session": SessionState.SUSPENDED, "registered": True}, Step.SUSPEND),
        ({"mine": TERM, "session": SessionState.LOST, "registered": True}, Step.RELINQUISH),
        ({"session": SessionState.SUSPENDED}, Step.STAND_BY),
        ({"session": SessionState.LOST}, Step.STAND_BY),
        ({"mine": TERM, "leader_read": False, "registered": True}, Step.SUSPEND),
        ({"leader_read": False}, Step.STAND_BY),
    ],
)
def test_decide(kw: dict[str, object], step: Step) -> None:
    decision = decide(view(**kw))
    assert isinstance(decision, Decision) and decision.step is step, decision


class Recorder:
    """A fencing store: refuses epochs older than the newest it has seen (like ccdr_fence)."""

    def __init__(self) -> None:
        self.newest: dict[str, int] = {}
        self.actions: list[tuple[str, int]] = []

    async def register(self, term: Term) -> None:
        if term.epoch < self.newest.get(term.role, 0):
            raise StaleTerm(f"{term.epoch} < {self.newest[term.role]}")
        self.newest[term.role] = term.epoch

    def work(self, name: str) -> Work:
        async def act(runner: Singleton) -> None:
            assert runner.term is not None
            await self.register(runner.term)  # every side effect carries the epoch
            self.actions.append((name, runner.term.epoch))

        return act


def _pair() -> tuple[Ensemble, MemoryCoordination, MemoryCoordination, Recorder, Singleton, Singleton]:
    ensemble, store = Ensemble(), Recorder()
    a, b = MemoryCoordination(ensemble, "a"), MemoryCoordination(ensemble, "b")
    a.start(1)
    b.start(1)
    sa = Singleton("sla-clock", "a", a, store.register, store.work("a"))
    sb = Singleton("sla-clock", "b", b, store.register, store.work("b"))
    return ensemble, a, b, store, sa, sb


def run(*coros: Awaitable[object]) -> None:
    async def main() -> None:
        for c in coros:
            await c

    asyncio.run(main())


def test_one_leader_acts_and_registers_before_acting() -> None:
    _, _, _, store, sa, sb = _pair()
    run(sa.tick(), sb.tick())
    assert sa.term is not None and sa.term.epoch == 1 and sb.term is None
    assert store.actions == []  # acquired, not yet registered: no side effect
    run(sa.tick(), sb.tick())
    assert sa.leading and not sb.leading and store.actions == [("a", 1)]


def test_suspended_leader_stops_at_once_and_the_standby_takes_over_after_expiry() -> None:
    _, a, _b, store, sa, sb = _pair()
    run(sa.tick(), sa.tick(), sb.tick())
    a.suspend()
    assert not sa.may_act()  # the listener fences before any loop runs
    run(sa.tick(), sb.tick())
    assert store.actions == [("a", 1)] and sb.term is None  # nobody acts while a's session may live
    a.ensemble.expire(a._session or 0)  # the ensemble expires a's session
    run(sb.tick(), sb.tick())
    assert sb.leading and sb.term is not None and sb.term.epoch == 2
    a.expire()  # a learns it was lost when it reconnects
    run(sa.tick())
    assert sa.term is None and not sa.may_act()
    assert store.actions == [("a", 1), ("b", 2)]


def test_a_resumed_session_resumes_leadership() -> None:
    _, a, _, store, sa, _ = _pair()
    run(sa.tick(), sa.tick())
    a.suspend()
    run(sa.tick())
    a.resume()
    run(sa.tick())
    assert sa.leading and store.actions == [("a", 1), ("a", 1)]


def test_a_deposed_leaders_late_write_is_refused_and_ends_its_term() -> None:
    _, _a, _b, store, sa, _sb = _pair()
    run(sa.tick(), sa.tick())
    old = sa.term
    assert old is not None
    b_store_term = Term("sla-clock", "b", old.epoch + 1, 0.0, 99)
    run(store.register(b_store_term))  # a newer leader registered meanwhile
    run(sa.tick())  # a's next side effect carries the old epoch
    assert sa.term is None and ("a", 1) in store.actions and store.actions.count(("a", 1)) == 1
