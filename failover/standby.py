"""Cold standby: a component that runs at one site only (the notifier), moved by the
standby controller of the other site when the owner's lease has been gone longer than a grace
period, or by an operator's request (`ccdr failover activate`).

Ownership lives in ZooKeeper (compare-and-set), so two controllers cannot both take it, and a
site that comes back finds the component owned elsewhere and leaves it stopped: failing back is
an operator's decision. Every activation is recorded in PostgreSQL (retried until written).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from failover.coordination import ActivationRequest, Coordination, CoordinationUnavailable, Owner, SessionState
from failover.cutoff import Posture, record_posture

log = logging.getLogger(__name__)


class Processes(Protocol):
    def running(self, name: str) -> bool: ...
    def start(self, name: str) -> None: ...
    def stop(self, name: str) -> None: ...


class Move(StrEnum):
    NOTHING = "nothing"
    CLAIM = "claim"  # take ownership (initial, automatic, or on request)
    START = "start"
    STOP = "stop"


@dataclass(frozen=True)
class StandbyView:
    component: str
    me: str
    declared_site: str  # where the topology says it runs
    owner: Owner | None
    owner_lease: bool  # the owner site's registry record exists (its failover agent lives)
    lease_gone_for: float | None  # seconds since we last saw the owner's lease (None: present)
    grace_s: float
    request: ActivationRequest | None  # the oldest operator request addressed to this site
    running_here: bool


@dataclass(frozen=True)
class StandbyDecision:
    move: Move
    reason: str
    automatic: bool = True


def decide(view: StandbyView) -> StandbyDecision:
    owner_site = view.owner.site if view.owner else view.declared_site
    if view.request is not None and owner_site != view.me:
        r = view.request
        return StandbyDecision(Move.CLAIM, r.reason, automatic=False)  # recorded with r.operator
    if view.owner is None and view.me == view.declared_site:
        return StandbyDecision(Move.CLAIM, f"initial owner per topology ({view.declared_site})")
    if owner_site == view.me:
        if not view.running_here:
            return StandbyDecision(Move.START, f"{view.component} is owned here")
        return StandbyDecision(Move.NOTHING, f"{view.component} runs here")
    if view.running_here:
        return StandbyDecision(Move.STOP, f"{view.component} is owned by site {owner_site}")
    if not view.owner_lease and view.lease_gone_for is not None and view.lease_gone_for >= view.grace_s:
        return StandbyDecision(
            Move.CLAIM,
            f"site {owner_site}'s lease has been gone for {view.lease_gone_for:.0f} s (grace {view.grace_s:g} s)",
        )
    return StandbyDecision(Move.NOTHING, f"standby for {view.component} (owner: site {owner_site})")


@dataclass(frozen=True)
class Activation:
    component: str
    site: str
    previous_site: str | None
    automatic: bool
    reason: str
    operator: str


Recorder = Callable[[Activation], Awaitable[None]]


@dataclass
class StandbyController:
    component: str
    declared_site: str
    grace_s: float
    coord: Coordination
    processes: Processes
    record: Recorder
    clock: Callable[[], float]
    _gone_since: float | None = None
    _unrecorded: list[Activation] = field(default_factory=list)
    last: StandbyDecision | None = None
    running_here: bool = False  # as of the last tick (reported in the site registry)

    async def tick(self) -> StandbyDecision:
        await self._flush_records()
        if self.coord.state is not SessionState.CONNECTED:
            # Fail closed: without ZooKeeper we cannot know who owns it; a running copy keeps
            # running (its writes are idempotent per event), nothing new is started.
            return self._log(StandbyDecision(Move.NOTHING, f"ZooKeeper session {self.coord.state}"))
        try:
            view = await asyncio.to_thread(self._snapshot)
        except CoordinationUnavailable as exc:
            return self._log(StandbyDecision(Move.NOTHING, f"ZooKeeper unavailable: {exc}"))
        decision = decide(view)
        await self._execute(decision, view)
        return self._log(decision)

    def _snapshot(self) -> StandbyView:
        owner = self.coord.owner(self.component)
        owner_site = owner.site if owner else self.declared_site
        record = self.coord.members("sites").get(owner_site)
        # A site that stepped aside (failover.cutoff) keeps its record but cannot serve: its lease
        # counts as gone, so the component moves after the grace instead of pausing for the cut.
        lease = record is not None and record_posture(record)[0] is not Posture.STEPPED_ASIDE
        now = self.clock()
        if lease:
            self._gone_since = None
        elif self._gone_since is None:
            self._gone_since = now  # counted from when this controller noticed: conservative
        self.running_here = self.processes.running(self.component)
        requests = [r for r in self.coord.activation_requests(self.component) if r.site == self.coord.site]
        return StandbyView(
            component=self.component,
            me=self.coord.site,
            declared_site=self.declared_site,
            owner=owner,
            owner_lease=lease,
            lease_gone_for=None if self._gone_since is None else now - self._gone_since,
            grace_s=self.grace_s,
            request=min(requests, key=lambda r: r.id) if requests else None,
            running_here=self.running_here,
        )

    async def _execute(self, decision: StandbyDecision, view: StandbyView) -> None:
        if decision.move is Move.START:
            await asyncio.to_thread(self.processes.start, self.component)
            self.running_here = True
        elif decision.move is Move.STOP:
            await asyncio.to_thread(self.processes.stop, self.component)
            self.running_here = False
        elif decision.move is Move.CLAIM:
            won = await asyncio.to_thread(self.coord.claim_owner, self.component, self.coord.site, view.owner)
            if view.request is not None:
                with contextlib.suppress(CoordinationUnavailable):
                    await asyncio.to_thread(self.coord.drop_request, view.request)
            if not won:
                return
            previous = view.owner.site if view.owner else None
            operator = view.request.operator if view.request and not decision.automatic else "standby-controller"
            self._unrecorded.append(
                Activation(self.component, self.coord.site, previous, decision.automatic, decision.reason, operator)
            )
            await asyncio.to_thread(self.processes.start, self.component)
            self.running_here = True
            log.warning(
                "site %s: activated %s (%s)",
                self.coord.site,
                self.component,
                decision.reason,
                extra={"component": self.component, "automatic": decision.automatic},
            )
            await self._flush_records()

    async def _flush_records(self) -> None:
        while self._unrecorded:
            try:
                await self.record(self._unrecorded[0])
            except Exception as exc:  # noqa: BLE001 - the database may be failing over: retry next tick
                log.warning("activation not recorded yet: %s", exc)
                return
            self._unrecorded.pop(0)

    def _log(self, decision: StandbyDecision) -> StandbyDecision:
        if self.last is None or (decision.move, decision.reason) != (self.last.move, self.last.reason):
            log.info("site %s: %s: %s", self.coord.site, decision.move, decision.reason)
        self.last = decision
        return decision
