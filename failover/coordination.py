"""The coordination port: what the rest of ccdr may ask of ZooKeeper.

Only `failover.zookeeper` imports kazoo. Everything else sees this contract:

- Session. `state` is CONNECTED, SUSPENDED (connection lost, the session may still live: stop
  side effects now, do not guess) or LOST (the session expired: every ephemeral node of ours
  is gone, every term we held is over). Listeners are called on the client's thread and must
  not block.
- Unavailable. Any call that needs the ensemble raises `CoordinationUnavailable` when it cannot
  get an answer within the client's timeout. It never means "no" — only "don't know".
- Lost race. The compare-and-set calls — `try_acquire`, `claim_owner` — return None/False when
  another party won, which is a normal outcome and not an error.
- Ephemeral records (`announce`) vanish with the session that wrote them: site heartbeats,
  agent presence, leadership.
- Terms. `try_acquire` atomically (one ZooKeeper multi-op) bumps the role's epoch counter and
  creates the ephemeral leader node, so epochs are unique and increase across all sites.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

# The singleton roles, by name (their work is in failover.roles; readers need only the names).
SLA_CLOCK = "sla-clock"
DISPATCHER = "dispatcher"


class SessionState(StrEnum):
    CONNECTED = "connected"
    SUSPENDED = "suspended"
    LOST = "lost"


class CoordinationUnavailable(Exception):
    """The ensemble did not answer in time: the outcome is unknown."""


@dataclass(frozen=True)
class Term:
    """One leadership term of a singleton role."""

    role: str
    holder: str  # the site (and process) that leads
    epoch: int  # the fencing token: strictly increasing per role
    since: float  # unix time the term began
    session: int  # the ZooKeeper session that owns the leader node


@dataclass(frozen=True)
class Owner:
    """Which site runs a cold-standby component; `version` is for compare-and-set."""

    component: str
    site: str
    version: int


@dataclass(frozen=True)
class ActivationRequest:
    """An operator's request to activate a cold component at a site."""

    id: str
    component: str
    site: str
    reason: str
    operator: str
    at: float


class Coordination(Protocol):
    site: str

    @property
    def state(self) -> SessionState: ...

    @property
    def session_id(self) -> int | None: ...

    def on_state(self, listener: Callable[[SessionState], None]) -> None: ...

    def start(self, timeout: float) -> None: ...

    def stop(self) -> None: ...

    # -- leadership (compare-and-set) --------------------------------------------------------
    def leader(self, role: str) -> Term | None: ...

    def try_acquire(self, role: str, holder: str) -> Term | None: ...

    def release(self, term: Term) -> None: ...

    # -- ephemeral records ----------------------------------------------------------------
    def announce(self, kind: str, name: str, data: Mapping[str, Any]) -> None: ...

    def withdraw(self, kind: str, name: str) -> None: ...

    def members(self, kind: str) -> dict[str, dict[str, Any]]: ...

    # -- cold standby ownership (compare-and-set) -------------------------------------------
    def owner(self, component: str) -> Owner | None: ...

    def claim_owner(self, component: str, site: str, expected: Owner | None) -> bool: ...

    def request_activation(self, component: str, site: str, reason: str, operator: str) -> str: ...

    def activation_requests(self, component: str) -> list[ActivationRequest]: ...

    def drop_request(self, request: ActivationRequest) -> None: ...
