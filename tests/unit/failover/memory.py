"""An in-memory implementation of the coordination port, for unit tests of the control loops.

It keeps the port's contract: CAS acquire with increasing epochs, ephemeral records that vanish
when their session expires, CoordinationUnavailable while not connected."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from failover.coordination import ActivationRequest, CoordinationUnavailable, Owner, SessionState, Term


@dataclass
class Ensemble:
    """The shared state several MemoryCoordination clients see."""

    leaders: dict[str, Term] = field(default_factory=dict)
    epochs: dict[str, int] = field(default_factory=dict)
    records: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    owners: dict[str, Owner] = field(default_factory=dict)
    requests: dict[str, list[ActivationRequest]] = field(default_factory=dict)
    sessions: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def expire(self, session: int) -> None:
        self.leaders = {r: t for r, t in self.leaders.items() if t.session != session}
        self.records = {k: v for k, v in self.records.items() if v[0] != session}


class MemoryCoordination:
    def __init__(self, ensemble: Ensemble, site: str) -> None:
        self.ensemble = ensemble
        self.site = site
        self._state = SessionState.LOST
        self._session: int | None = None
        self._listeners: list[Callable[[SessionState], None]] = []

    # -- session, driven by the test ------------------------------------------------------
    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def session_id(self) -> int | None:
        return self._session if self._state is SessionState.CONNECTED else None

    def on_state(self, listener: Callable[[SessionState], None]) -> None:
        self._listeners.append(listener)

    def _set(self, state: SessionState) -> None:
        self._state = state
        for listener in self._listeners:
            listener(state)

    def start(self, timeout: float) -> None:
        self._session = next(self.ensemble.sessions)
        self._set(SessionState.CONNECTED)

    def stop(self) -> None:
        if self._session is not None:
            self.ensemble.expire(self._session)
        self._set(SessionState.LOST)

    def suspend(self) -> None:
        self._set(SessionState.SUSPENDED)

    def resume(self) -> None:
        self._set(SessionState.CONNECTED)

    def expire(self) -> None:
        """The ensemble expired our session; the client reconnects with a new one."""
        assert self._session is not None
        self.ensemble.expire(self._session)
        self._set(SessionState.LOST)
        self._session = next(self.ensemble.sessions)
        self._set(SessionState.CONNECTED)

    def _need(self) -> None:
        if self._state is not SessionState.CONNECTED:
            raise CoordinationUnavailable(f"session {self._state}")

    # -- the port -----------------------------------------------------------------------------
    def leader(self, role: str) -> Term | None:
        self._need()
        return self.ensemble.leaders.get(role)

    def try_acquire(self, role: str, holder: str) -> Term | None:
        self._need()
        if role in self.ensemble.leaders:
            return None
        epoch = self.ensemble.epochs.get(role, 0) + 1
        self.ensemble.epochs[role] = epoch
        assert self._session is not None
        term = Term(role, holder, epoch, time.time(), self._session)
        self.ensemble.leaders[role] = term
        return term

    def release(self, term: Term) -> None:
        self._need()
        if self.ensemble.leaders.get(term.role) == term:
            del self.ensemble.leaders[term.role]

    def announce(self, kind: str, name: str, data: Mapping[str, Any]) -> None:
        self._need()
        assert self._session is not None
        self.ensemble.records[(kind, name)] = (self._session, dict(data))

    def withdraw(self, kind: str, name: str) -> None:
        self._need()
        self.ensemble.records.pop((kind, name), None)

    def members(self, kind: str) -> dict[str, dict[str, Any]]:
        self._need()
        return {n: d for (k, n), (_, d) in self.ensemble.records.items() if k == kind}

    def owner(self, component: str) -> Owner | None:
        self._need()
        return self.ensemble.owners.get(component)

    def claim_owner(self, component: str, site: str, expected: Owner | None) -> bool:
        self._need()
        if self.ensemble.owners.get(component) != expected:
            return False
        version = expected.version + 1 if expected else 0
        self.ensemble.owners[component] = Owner(component, site, version)
        return True

    def request_activation(self, component: str, site: str, reason: str, operator: str) -> str:
        self._need()
        reqs = self.ensemble.requests.setdefault(component, [])
        rid = f"req-{len(reqs):010d}"
        reqs.append(ActivationRequest(rid, component, site, reason, operator, time.time()))
        return rid

    def activation_requests(self, component: str) -> list[ActivationRequest]:
        self._need()
        return list(self.ensemble.requests.get(component, []))

    def drop_request(self, request: ActivationRequest) -> None:
        self._need()
        self.ensemble.requests[request.component] = [
            r for r in self.ensemble.requests.get(request.component, []) if r.id != request.id
        ]
