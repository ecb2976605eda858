"""The ZooKeeper presence board as core's Presence port: records per agent and site, gone with
the site's session, restored after a new one, and an ensemble that does not answer is core's
PresenceUnavailable (core never sees a coordination error)."""

from __future__ import annotations

import asyncio

import pytest

from core.agents.domain.presence import Presence, PresenceUnavailable, Status
from failover.presence import PresenceBoard
from tests.unit.failover.memory import Ensemble, MemoryCoordination


def _boards() -> tuple[Ensemble, MemoryCoordination, PresenceBoard, PresenceBoard]:
    ensemble = Ensemble()
    a, b = MemoryCoordination(ensemble, "a"), MemoryCoordination(ensemble, "b")
    a.start(1)
    b.start(1)
    return ensemble, a, PresenceBoard(a), PresenceBoard(b)


def test_everyone_sees_each_sites_agents_in_order() -> None:
    _, _, at_a, at_b = _boards()
    board: Presence = at_a  # the port core depends on

    async def scenario() -> list[tuple[str, str, str]]:
        await at_b.set("l2.binh", Status.BUSY)
        await board.set("l1.an", Status.AVAILABLE)
        await at_b.set("l1.an", Status.AWAY)
        return [(r["agent"], r["site"], r["status"]) for r in await board.everyone()]

    assert asyncio.run(scenario()) == [("l1.an", "a", "available"), ("l1.an", "b", "away"), ("l2.binh", "b", "busy")]


def test_a_dead_sites_agents_vanish_and_come_back_with_a_new_session() -> None:
    _, a, at_a, at_b = _boards()

    async def scenario() -> tuple[int, int, int]:
        await at_a.set("l1.an", Status.AVAILABLE)
        a.expire()  # the site's session is gone: so are its ephemeral records
        gone = len(await at_b.everyone())
        a.start(1)
        restored = await at_a.restore()
        return gone, restored, len(await at_b.everyone())

    assert asyncio.run(scenario()) == (0, 1, 1)


def test_a_cleared_agent_is_not_restored() -> None:
    _, a, at_a, at_b = _boards()

    async def scenario() -> int:
        await at_a.set("l1.an", Status.AVAILABLE)
        await at_a.clear("l1.an")
        a.expire()
        a.start(1)
        await at_a.restore()
        return len(await at_b.everyone())

    assert asyncio.run(scenario()) == 0


def test_an_ensemble_that_does_not_answer_is_presence_unavailable() -> None:
    _, a, at_a, _ = _boards()
    a.suspend()
    with pytest.raises(PresenceUnavailable):
        asyncio.run(at_a.set("l1.an", Status.AVAILABLE))
    with pytest.raises(PresenceUnavailable):
        asyncio.run(at_a.everyone())
