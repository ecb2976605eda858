"""Readiness worked out on the event loop, read from the health thread: the last answer, and none
once it is older than the loop could have taken (the loop has stopped turning)."""

from __future__ import annotations

import asyncio

from core.http.readiness_watch import ReadinessWatch
from tests.fakes import ManualClock


def test_the_health_thread_reads_the_last_answer_of_each_check_until_it_is_stale() -> None:
    clock = ManualClock(10.0)
    primary: list[str | None] = [None]

    async def writes() -> str | None:
        return primary[0]

    async def reads() -> str | None:
        return None

    watch = ReadinessWatch({"/readyz": writes, "/readyz/reads": reads}, every_s=0.5, stale_s=5, clock=clock)
    ready, can_read = watch.reader("/readyz"), watch.reader("/readyz/reads")
    assert ready() == "not checked yet"
    asyncio.run(watch.check_once())
    assert ready() is None and can_read() is None
    primary[0] = "no database connection (PoolTimeout)"
    asyncio.run(watch.check_once())
    assert ready() == "no database connection (PoolTimeout)" and can_read() is None
    clock.now += 5.5  # nothing checked since: the loop is stuck
    assert "event loop stalled" in (ready() or "") and "event loop stalled" in (can_read() or "")


def test_a_stuck_check_ages_only_its_own_answer() -> None:
    """The primary's check hanging (a connection to a cut-off site) must not age the reads check,
    which is what lets agents sign in while no site reaches a primary."""
    clock = ManualClock(10.0)
    calls = {"writes": 0}
    never = asyncio.Event()

    async def writes() -> str | None:
        calls["writes"] += 1
        if calls["writes"] > 1:
            await never.wait()  # the second check hangs for good
        return None

    async def reads() -> str | None:
        return None

    watch = ReadinessWatch({"/readyz": writes, "/readyz/reads": reads}, every_s=0.01, stale_s=5, clock=clock)

    async def scenario() -> tuple[str | None, str | None]:
        task = asyncio.create_task(watch.run())
        await asyncio.sleep(0.05)  # both answered once; the writes check is now stuck
        clock.now += 6  # past stale_s
        await asyncio.sleep(0.05)  # the reads check goes on answering
        answers = watch.reader("/readyz")(), watch.reader("/readyz/reads")()
        task.cancel()
        return answers

    ready, can_read = asyncio.run(scenario())
    assert calls["writes"] == 2
    assert "check stuck" in (ready or "")
    assert can_read is None
