"""Cold standby: the decision table and the controller against the in-memory port."""

from __future__ import annotations

import asyncio

import pytest

from failover.coordination import ActivationRequest, Owner
from failover.standby import Activation, Move, StandbyController, StandbyView, decide
from tests.fakes import ManualClock
from tests.unit.failover.memory import Ensemble, MemoryCoordination


def view(**kw: object) -> StandbyView:
    base: dict[str, object] = {
        "component": "notifier",
        "me": "b",
        "declared_site": "a",
        "owner": Owner("notifier", "a", 0),
        "owner_lease": True,
        "lease_gone_for": None,
        "grace_s": 20.0,
        "request": None,
        "running_here": False,
    }
    return StandbyView(**{**base, **kw})  # type: ignore[arg-type]


REQ = ActivationRequest("req-0000000001", "notifier", "b", "planned move", "ops", 0.0)


@pytest.mark.parametrize(
    ("kw", "move", "automatic"),
    [
        ({}, Move.NOTHING, True),  # standby while a's lease lives
        ({"owner_lease": False, "lease_gone_for": 5.0}, Move.NOTHING, True),  # within the grace
        ({"owner_lease": False, "lease_gone_for": 20.0}, Move.CLAIM, True),  # grace over
        ({"request": REQ}, Move.CLAIM, False),  # the operator says so, even with a alive
        ({"owner": Owner("notifier", "b", 3)}, Move.START, True),  # owned here, not running
        ({"owner": Owner("notifier", "b", 3), "running_here": True}, Move.NOTHING, True),
        ({"running_here": True}, Move.STOP, True),  # owned elsewhere (a came back to find b owning it)
        ({"owner": None, "me": "a"}, Move.CLAIM, True),  # first start: the declared site claims
        ({"owner": None}, Move.NOTHING, True),  # ... and the other waits for it
        ({"owner": Owner("notifier", "b", 3), "request": REQ}, Move.START, True),  # request already met
    ],
)
def test_decide(kw: dict[str, object], move: Move, automatic: bool) -> None:
    decision = decide(view(**kw))
    assert (decision.move, decision.automatic) == (move, automatic), decision


class Processes:
    def __init__(self) -> None:
        self.up: set[str] = set()

    def running(self, name: str) -> bool:
        return name in self.up

    def start(self, name: str) -> None:
        self.up.add(name)

    def stop(self, name: str) -> None:
        self.up.discard(name)


def _controllers() -> tuple[
    MemoryCoordination, MemoryCoordination, dict[str, Processes], list[Activation], ManualClock
]:
    ensemble = Ensemble()
    a, b = MemoryCoordination(ensemble, "a"), MemoryCoordination(ensemble, "b")
    a.start(1)
    b.start(1)
    a.announce("sites", "a", {})
    b.announce("sites", "b", {})
    return a, b, {"a": Processes(), "b": Processes()}, [], ManualClock(1000.0)


def test_initial_claim_operator_move_then_automatic_move_after_the_grace() -> None:
    a, b, procs, recorded, clock = _controllers()

    async def record(act: Activation) -> None:
        recorded.append(act)

    ca = StandbyController("notifier", "a", 20.0, a, procs["a"], record, clock)
    cb = StandbyController("notifier", "a", 20.0, b, procs["b"], record, clock)

    async def ticks(*cs: StandbyController) -> None:
        for c in cs:
            await c.tick()

    asyncio.run(ticks(ca, cb))
    assert procs["a"].up == {"notifier"} and not procs["b"].up
    b.request_activation("notifier", "b", "planned move", "ops")
    asyncio.run(ticks(cb, ca))
    assert procs["b"].up == {"notifier"} and not procs["a"].up  # a stops its copy
    assert recorded[-1].automatic is False and recorded[-1].operator == "ops" and recorded[-1].reason == "planned move"
    assert b.activation_requests("notifier") == []

    b.stop()  # site b dies: its lease (site record) vanishes with its session
    asyncio.run(ticks(ca))
    clock.now += 19
    asyncio.run(ticks(ca))
    assert not procs["a"].up  # within the grace
    clock.now += 1
    asyncio.run(ticks(ca))
    assert procs["a"].up == {"notifier"}
    assert recorded[-1].automatic is True and recorded[-1].previous_site == "b" and "20 s" in recorded[-1].reason


def test_an_unwritten_activation_is_retried_until_recorded() -> None:
    a, _, procs, _, clock = _controllers()
    attempts: list[Activation] = []

    async def flaky(act: Activation) -> None:
        attempts.append(act)
        if len(attempts) < 3:
            raise OSError("database failing over")

    ca = StandbyController("notifier", "a", 20.0, a, procs["a"], flaky, clock)
    for _ in range(3):
        asyncio.run(ca.tick())
    assert len(attempts) == 3 and len({id(x) for x in attempts}) == 1  # one activation, written on the 3rd try
    asyncio.run(ca.tick())
    assert len(attempts) == 3


def test_a_site_that_stepped_aside_hands_the_component_over_after_the_grace() -> None:
    a, b, procs, recorded, clock = _controllers()

    async def record(act: Activation) -> None:
        recorded.append(act)

    ca = StandbyController("notifier", "a", 20.0, a, procs["a"], record, clock)
    cb = StandbyController("notifier", "a", 20.0, b, procs["b"], record, clock)
    asyncio.run(ca.tick())
    asyncio.run(cb.tick())
    assert procs["a"].up == {"notifier"}
    a.announce("sites", "a", {"posture": "stepped aside", "posture_reason": "cannot reach b, which holds the primary"})
    asyncio.run(cb.tick())
    clock.now += 20
    asyncio.run(cb.tick())
    assert procs["b"].up == {"notifier"}, "b takes it over although a's record is still there"
    asyncio.run(ca.tick())
    assert not procs["a"].up, "a stops its copy once b owns it"
