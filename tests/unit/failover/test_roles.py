"""Core's singleton work under a leadership term: the lease it sees is the term's, and the database
refusing the epoch (core's FencedOut) ends the term at once."""

from __future__ import annotations

import asyncio

from core.leases import Fence, FencedOut, Lease
from failover.coordination import Term
from failover.election import Singleton
from failover.roles import under_term
from tests.unit.failover.memory import Ensemble, MemoryCoordination


async def _accept(term: Term) -> None:
    return None


def _leader(work: object) -> Singleton:
    coord = MemoryCoordination(Ensemble(), "b")
    coord.start(1)
    return Singleton("sla-clock", "b", coord, _accept, work)  # type: ignore[arg-type]


def test_the_work_sees_the_terms_fence_and_may_act_only_while_leading() -> None:
    seen: list[tuple[bool, Fence]] = []

    async def work(lease: Lease) -> None:
        seen.append((lease.may_act(), lease.fence()))

    runner = _leader(under_term(work))

    async def ticks() -> None:
        await runner.tick()  # acquire
        await runner.tick()  # register, lead and act

    asyncio.run(ticks())
    assert runner.term is not None
    assert seen == [(True, Fence("sla-clock", runner.term.epoch, "sla-clock@b"))]


def test_a_fenced_out_write_ends_the_term() -> None:
    async def work(lease: Lease) -> None:
        raise FencedOut("epoch 1 < 2 for sla-clock")

    runner = _leader(under_term(work))

    async def ticks() -> None:
        await runner.tick()
        await runner.tick()

    asyncio.run(ticks())
    assert runner.term is None and not runner.may_act()
    assert runner.last is not None and "epoch 1 < 2" in runner.last.reason
