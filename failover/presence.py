"""Agent presence as ephemeral ZooKeeper records `presence/<agent>@<site>`, written by the
ticket API of the site the agent works through. When that site dies, its session expires and
its agents' presence vanishes with it (within the session timeout); when they log in at the
other site they appear there. The board re-creates its records after a session loss."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, ParamSpec, TypeVar

from core.agents.domain.presence import PresenceUnavailable, Status
from failover.coordination import Coordination, CoordinationUnavailable, SessionState

PRESENCE = "presence"
P = ParamSpec("P")
T = TypeVar("T")
log = logging.getLogger(__name__)


async def _call(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """A blocking coordination call off the event loop; the ensemble not answering is core's
    PresenceUnavailable (core knows nothing of ZooKeeper)."""
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except CoordinationUnavailable as exc:
        raise PresenceUnavailable(str(exc)) from exc


class PresenceBoard:
    """core.agents.domain.presence.Presence over a Coordination."""

    def __init__(self, coord: Coordination) -> None:
        self.coord = coord
        self._mine: dict[str, dict[str, Any]] = {}  # agent -> record, what this site asserts

    def _name(self, agent: str) -> str:
        return f"{agent}@{self.coord.site}"

    async def set(self, agent: str, status: Status) -> dict[str, Any]:
        record = {"agent": agent, "site": self.coord.site, "status": status.value, "since": time.time()}
        self._mine[agent] = record
        await _call(self.coord.announce, PRESENCE, self._name(agent), record)
        return record

    async def clear(self, agent: str) -> None:
        self._mine.pop(agent, None)
        await _call(self.coord.withdraw, PRESENCE, self._name(agent))

    async def everyone(self) -> list[dict[str, Any]]:
        records = await _call(self.coord.members, PRESENCE)
        return sorted(records.values(), key=lambda r: (str(r.get("agent")), str(r.get("site"))))

    async def restore(self) -> int:
        """Re-create our records lost with an expired session; returns how many."""
        if self.coord.state is not SessionState.CONNECTED or not self._mine:
            return 0
        existing = await asyncio.to_thread(self.coord.members, PRESENCE)
        missing = [a for a in self._mine if self._name(a) not in existing]
        for agent in missing:
            await asyncio.to_thread(self.coord.announce, PRESENCE, self._name(agent), self._mine[agent])
        return len(missing)


@asynccontextmanager
async def kept(
    board: PresenceBoard, start: Callable[[], None], stop: Callable[[], None], every_s: float
) -> AsyncIterator[None]:
    """While the ticket API runs: connect to the ensemble (it may come up after us) and re-create the
    records an expired session took with it; on the way out, close the session."""

    async def keep() -> None:
        started = False
        while True:
            try:
                if not started:  # after that, kazoo reconnects (and renews an expired session) itself
                    await asyncio.to_thread(start)
                    started = True
                restored = await board.restore()
                if restored:
                    log.info("presence: restored %d records after a session loss", restored)
            except (CoordinationUnavailable, PresenceUnavailable) as exc:
                log.warning("presence: %s", exc)
            await asyncio.sleep(every_s)

    task = asyncio.create_task(keep())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.to_thread(stop)
