"""Agent presence as ephemeral ZooKeeper records `presence/<agent>@<site>`, written by the
ticket API of the site the agent works through. When that site dies, its session expires and
its agents' presence vanishes with it (within the session timeout); when they log in at the
other site they appear there. The board re-creates its records after a session loss."""

from __future__ import annotations

import asyncio
import time
from enum import StrEnum
from typing import Any

from failover.coordination import Coordination, SessionState

PRESENCE = "presence"


class Status(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    AWAY = "away"


class PresenceBoard:
    def __init__(self, coord: Coordination) -> None:
        self.coord = coord
        self._mine: dict[str, dict[str, Any]] = {}  # agent -> record, what this site asserts

    def _name(self, agent: str) -> str:
        return f"{agent}@{self.coord.site}"

    async def set(self, agent: str, status: Status) -> dict[str, Any]:
        record = {"agent": agent, "site": self.coord.site, "status": status.value, "since": time.time()}
        self._mine[agent] = record
        await asyncio.to_thread(self.coord.announce, PRESENCE, self._name(agent), record)
        return record

    async def clear(self, agent: str) -> None:
        self._mine.pop(agent, None)
        await asyncio.to_thread(self.coord.withdraw, PRESENCE, self._name(agent))

    async def everyone(self) -> list[dict[str, Any]]:
        records = await asyncio.to_thread(self.coord.members, PRESENCE)
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
