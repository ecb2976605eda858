"""The dispatcher's pass on in-memory presence and store: new tickets go to a present, available
agent on duty for their team, level and region; an absent agent's tickets move only after the
grace; every assignment carries the lease's fence; a lost lease or a refused fence stops it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from core.agents.dispatch_worker import Dispatcher
from core.agents.domain.dispatch import OpenTicket
from core.agents.domain.presence import Status
from core.agents.domain.roster import Shift
from core.domain.escalation import SupportLevel
from core.domain.routing import Team
from core.domain.taxonomy import Region
from core.leases import Fence, FencedOut
from tests.fakes import CountedLease, MemoryDispatchStore, MemoryPresence

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
GRACE_S = 120
L1 = SupportLevel.L1


def _shift(agent: str, team: Team = Team.NETWORK, region: Region = Region.SOUTH) -> Shift:
    return Shift(
        agent_id=agent,
        team=team,
        region=region,
        level=L1,
        starts_at=T0 - timedelta(hours=4),
        ends_at=T0 + timedelta(hours=4),
        kind="in_hours",
    )


def _ticket(code: str, assignee: str | None = None, team: Team = Team.NETWORK) -> OpenTicket:
    return OpenTicket(code, assignee, team, Region.SOUTH, L1)


def _lease(epoch: int = 5, acts: int = 10_000) -> CountedLease:
    return CountedLease("dispatcher", "a", epoch, acts)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _dispatcher(store: MemoryDispatchStore, presence: MemoryPresence, clock: Clock | None = None) -> Dispatcher:
    return Dispatcher(store, presence, GRACE_S, batch=100, now=clock or (lambda: T0))


def test_a_new_ticket_goes_to_the_available_agent_on_duty_for_it_with_the_leases_fence() -> None:
    store = MemoryDispatchStore(
        [_ticket("INC-1"), _ticket("INC-2", team=Team.CAMERA)],
        [_shift("l1.an"), _shift("l1.binh", team=Team.CAMERA), _shift("l1.chi")],
        ["l1.an", "l1.binh", "l1.chi"],
    )
    presence = MemoryPresence({"l1.an": Status.BUSY, "l1.binh": Status.AVAILABLE, "l1.chi": Status.AVAILABLE})
    asyncio.run(_dispatcher(store, presence)(_lease()))
    assert store.tickets["INC-1"].assignee == "l1.chi"  # on duty for network and available; an is busy
    assert store.tickets["INC-2"].assignee == "l1.binh"
    assert {fence for _, fence in store.assigned} == {Fence("dispatcher", 5, "dispatcher@a")}


def test_nobody_available_on_duty_leaves_the_ticket_waiting() -> None:
    store = MemoryDispatchStore([_ticket("INC-1")], [_shift("l1.an")], ["l1.an"])
    asyncio.run(_dispatcher(store, MemoryPresence({"l1.an": Status.AWAY}))(_lease()))
    assert store.tickets["INC-1"].assignee is None and store.assigned == []


def _an_holds_one() -> MemoryDispatchStore:
    agents = ["l1.an", "l1.chi"]
    return MemoryDispatchStore([_ticket("INC-1", assignee="l1.an")], [_shift(a) for a in agents], agents)


def test_an_absent_agents_ticket_moves_only_after_the_grace() -> None:
    store = MemoryDispatchStore(
        [_ticket("INC-1", assignee="l1.an")], [_shift("l1.an"), _shift("l1.chi")], ["l1.an", "l1.chi"]
    )
    presence = MemoryPresence({"l1.chi": Status.AVAILABLE})  # an's site was lost: an is gone
    clock = Clock()
    dispatcher = _dispatcher(store, presence, clock)
    asyncio.run(dispatcher(_lease()))
    assert store.tickets["INC-1"].assignee == "l1.an"  # absent since now: within the grace
    clock.now = T0 + timedelta(seconds=GRACE_S - 1)
    asyncio.run(dispatcher(_lease()))
    assert store.tickets["INC-1"].assignee == "l1.an"
    clock.now = T0 + timedelta(seconds=GRACE_S)
    asyncio.run(dispatcher(_lease()))
    assert store.tickets["INC-1"].assignee == "l1.chi"
    ((assignment, _),) = store.assigned
    assert assignment.expected == "l1.an" and "absent since" in assignment.reason


def test_an_agent_back_within_the_grace_keeps_the_ticket() -> None:
    store = MemoryDispatchStore(
        [_ticket("INC-1", assignee="l1.an")], [_shift("l1.an"), _shift("l1.chi")], ["l1.an", "l1.chi"]
    )
    presence, clock = MemoryPresence({"l1.chi": Status.AVAILABLE}), Clock()
    dispatcher = _dispatcher(store, presence, clock)
    asyncio.run(dispatcher(_lease()))
    presence.statuses["l1.an"] = Status.AVAILABLE  # signed in again at the other site
    clock.now = T0 + timedelta(seconds=GRACE_S * 2)
    asyncio.run(dispatcher(_lease()))
    assert store.tickets["INC-1"].assignee == "l1.an" and store.assigned == []


def test_a_lost_lease_assigns_nothing_and_a_refused_fence_raises() -> None:
    store = MemoryDispatchStore([_ticket("INC-1")], [_shift("l1.chi")], ["l1.chi"])
    presence = MemoryPresence({"l1.chi": Status.AVAILABLE})
    asyncio.run(_dispatcher(store, presence)(_lease(acts=0)))
    assert store.assigned == []
    store.newest_epoch["dispatcher"] = 6
    with pytest.raises(FencedOut):
        asyncio.run(_dispatcher(store, presence)(_lease(epoch=5)))
    assert store.tickets["INC-1"].assignee is None
