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
