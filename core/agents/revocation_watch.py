"""Keeps this service's copy of the revocations in force fresh, read from any database node.

A token is checked against the newest copy read. Until one has been read the service refuses
every token (it cannot tell a revoked one); afterwards, while no node answers, it keeps the last
copy: revocations made since then (which need the primary anyway) are not seen until a node
answers again. The copy's age is exported, so that window is visible."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime

from prometheus_client import Gauge

from core.agents.domain.revocations import Revocations

log = logging.getLogger(__name__)

AGE = Gauge("ccdr_agent_revocations_age_seconds", "Seconds since the revocations in force were last read")

ReadRevocations = Callable[[], Awaitable[Revocations]]


class NotLoaded(RuntimeError):
    """No copy of the revocations has been read yet."""


@dataclass
class RevocationWatch:
    read: ReadRevocations
    refresh_s: float
    _current: Revocations | None = None
    _read_at: float | None = None  # monotonic

    def __post_init__(self) -> None:
        AGE.set_function(lambda: -1.0 if self._read_at is None else time.monotonic() - self._read_at)

    @property
    def current(self) -> Revocations:
        if self._current is None:
            raise NotLoaded("the revocation list has not been read yet")
        return self._current

    def include(self, *, token: bytes | None = None, agent_cutoff: tuple[str, datetime] | None = None) -> None:
        """A revocation this service just committed takes effect here at once (the other services
        see it at their next read)."""
        current = self.current
        tokens = current.tokens | {token} if token is not None else current.tokens
        not_before = dict(current.not_before)
        if agent_cutoff is not None:
            agent, at = agent_cutoff
            not_before[agent] = max(at, not_before.get(agent, at))
        self._current = replace(current, tokens=tokens, not_before=not_before)

    async def refresh(self) -> None:
        self._current = await self.read()
        self._read_at = time.monotonic()

    async def run(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception as exc:  # noqa: BLE001 - keep the last copy; try again next round
                log.warning("revocations not read (keeping the copy from %s): %s", self._age_text(), exc)
            await asyncio.sleep(self.refresh_s)

    def _age_text(self) -> str:
        return "never" if self._read_at is None else f"{time.monotonic() - self._read_at:.0f} s ago"
