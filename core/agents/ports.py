"""What the dispatcher (core.agents.dispatch_worker) needs from storage: the agents, the shifts on
duty, the open tickets it may act on, each agent's open load, and a fenced compare-and-set
assignment. The PostgreSQL adapter is core.agents.store.pg; unit tests use tests/fakes.py."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from core.agents.domain.dispatch import Assignment, OpenTicket
from core.agents.domain.roster import Shift
from core.leases import Fence


class DispatchSession(Protocol):
    async def agents(self) -> list[str]: ...

    async def shifts_at(self, at: datetime) -> list[Shift]: ...

    async def work(self, takers: list[tuple[str, str, str]], absent: list[str], limit: int) -> list[OpenTicket]:
        """Unassigned tickets someone in `takers` (team, level, region) could take, and the open
        tickets of the `absent` agents; at most `limit`."""
        ...

    async def load(self) -> dict[str, int]:
        """Open tickets per assignee."""
        ...

    async def assign(self, assignment: Assignment, fence: Fence, now: datetime) -> bool:
        """Assign if the ticket's assignee is still the expected one (False: it changed); raises
        FencedOut when the fence is stale."""
        ...


class DispatchStore(Protocol):
    def session(self) -> AbstractAsyncContextManager[DispatchSession]: ...
