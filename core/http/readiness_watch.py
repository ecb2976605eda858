"""Readiness worked out on the event loop, answered from the health thread (core.http.health_thread).

A service whose readiness needs the loop (the ticket API asks its database pool for a connection)
cannot answer it from another thread. This runs its checks on the loop every `every_s` and keeps
their last answers, which the health thread reads: the front door's check is answered at once
however busy the loop is. Before, the ticket API answered HAProxy's check on its busy event loop,
over TLS; under a site loss's load both sites missed the 1 s handshake twice in a row, the front door
took them both out, and agents' sign-ins were refused for seconds (issue 16). An answer older than
`stale_s` means the loop itself has stopped turning: that is not ready.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

from core.http.health_thread import Ready

Check = Callable[[], Awaitable[str | None]]


class ReadinessWatch:
    def __init__(
        self, checks: Mapping[str, Check], every_s: float, stale_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._checks = dict(checks)
        self._every_s, self._stale_s, self._clock = every_s, stale_s, clock
        # path -> (when answered, why not ready or None); replaced whole, so a reader in another
        # thread sees one answer or the next, never half of one.
        self._answers: dict[str, tuple[float, str | None]] = {}

    async def run(self) -> None:
        while True:
            await self.check_once()
            await asyncio.sleep(self._every_s)

    async def check_once(self) -> None:
        paths = list(self._checks)
        reasons = await asyncio.gather(*(self._checks[p]() for p in paths))
        now = self._clock()
        self._answers = {**self._answers, **{p: (now, r) for p, r in zip(paths, reasons, strict=True)}}

    def reader(self, path: str) -> Ready:
        """What the health thread calls for `path`: the last answer, unless it is too old."""

        def ready() -> str | None:
            answer = self._answers.get(path)
            if answer is None:
                return "not checked yet"
            at, reason = answer
            if self._clock() - at > self._stale_s:
                return f"readiness not refreshed for {self._clock() - at:.0f} s (event loop stalled)"
            return reason

        return ready
