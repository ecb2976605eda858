"""What core's singleton work needs from whoever elects it (the failover layer): whether it may
act right now, and the fence its writes carry. Pure: the election itself is not core's business.

Every fenced write runs `ccdr_fence(role, epoch, actor)` in PostgreSQL (migration 0003), which
refuses an epoch older than the newest it has seen; core reports that as FencedOut, and the
elector ends the term."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Fence:
    role: str
    epoch: int
    actor: str  # e.g. "sla-clock@b"


class FencedOut(Exception):
    """The database refused our epoch: a newer leader exists. Stop at once."""


class Lease(Protocol):
    def may_act(self) -> bool:
        """Still the leader, with a session that has not been suspended too long."""
        ...

    def fence(self) -> Fence:
        """The current term's fence (only asked while may_act() is true)."""
        ...
