"""Who is on duty where: the port the agent service needs, kept apart from how it is done (the
failover layer implements it with ephemeral ZooKeeper records: failover.presence)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol


class Status(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    AWAY = "away"


class PresenceUnavailable(Exception):
    """The presence store did not answer in time: the outcome is unknown."""


class Presence(Protocol):
    async def set(self, agent: str, status: Status) -> dict[str, Any]:
        """Assert `agent`'s status at this site; returns the record."""
        ...

    async def clear(self, agent: str) -> None: ...

    async def everyone(self) -> list[dict[str, Any]]:
        """Every agent present at any site, ordered by agent then site."""
        ...
