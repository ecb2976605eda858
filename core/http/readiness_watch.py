"""Readiness worked out on the event loop, answered from the health thread (core.http.health_thread).

A service whose readiness needs the loop (the ticket API asks its database pool for a connection)
cannot answer it from another thread. This runs its checks on the loop every `every_s` and keeps
their last answers, which the health thread reads: the front door's check is answered at once
however busy the loop is. Before, the ticket API answered HAProxy's check on its busy event loop,
over TLS; under a site loss's load both sites missed the 1 s handshake twice in a row, the front door
took them both out, and agents' sign-ins were refused for seconds (issue 16). An answer older than
`stale_s` means the loop has stopped turning, or that check is stuck: that path is not ready.
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
        # Each check on its own turn: a slow one (a pooled connection to a primary that was cut
        # off) must not age the others' answers. Gathered in one turn, the ticket API's primary
        # check held its reads check past `stale_s` in isolate-a, and the front door refused
        # sign-ins for a second although any node could serve them.
        await asyncio.gather(*(self._watch(path) for path in self._checks))

    async def check_once(self) -> None:
        await asyncio.gather(*(self._refresh(path) for path in self._checks))

    async def _watch(self, path: str) -> None:
        while True:
            await self._refresh(path)
            await asyncio.sleep(self._every_s)

    async def _refresh(self, path: str) -> None:
        reason = await self._checks[path]()
        self._answers = {**self._answers, path: (self._clock(), reason)}

    def reader(self, path: str) -> Ready:
        """What the health thread calls for `path`: the last answer, unless it is too old."""

        def ready() -> str | None:
            answer = self._answers.get(path)
            if answer is None:
                return "not checked yet"
            at, reason = answer
            if self._clock() - at > self._stale_s:
                return f"readiness not refreshed for {self._clock() - at:.0f} s (event loop stalled or check stuck)"
            return reason

        return ready
