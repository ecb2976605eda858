"""Writes the sign-in audit and session records to the primary — after the answer, when it is away.

A sign-in waits up to `wait_s` for its records to commit (the usual case: they are in the audit
when the agent sees the answer). While the primary is moving they stay in memory, count towards
the throttle (core.agents.domain.logins.with_unwritten), and are retried until written. What a
crash of this process loses is the audit of sign-ins made while the primary was away: the
sessions themselves need no record to work, and revocation does not depend on it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from core.agents.domain.logins import LoginRecord

log = logging.getLogger(__name__)

WriteBatch = Callable[[Sequence[LoginRecord]], Awaitable[None]]


@dataclass
class LoginRecorder:
    write: WriteBatch  # one transaction; raises when the primary cannot be reached
    retry_s: float  # between attempts while the primary is away
    max_batch: int = 500
    _pending: list[tuple[LoginRecord, asyncio.Future[None]]] = field(default_factory=list)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def unwritten(self) -> list[LoginRecord]:
        return [r for r, _ in self._pending]

    async def record(self, rec: LoginRecord, wait_s: float) -> bool:
        """Queue one record; True if it was written within `wait_s`."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((rec, done))
        self._wake.set()
        finished, _ = await asyncio.wait({done}, timeout=wait_s)
        return bool(finished)

    async def run(self) -> None:
        """Write what is pending, oldest first, for as long as the service runs."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._pending[: self.max_batch]
                try:
                    await self.write([r for r, _ in batch])
                except Exception as exc:  # noqa: BLE001 - any failure to write is retried; the records stay
                    log.warning("sign-in records not written yet (%d pending): %s", len(self._pending), exc)
                    await asyncio.sleep(self.retry_s)
                    continue
                del self._pending[: len(batch)]
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
