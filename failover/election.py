"""Hot-standby singletons: every data site runs each role's candidate; one leads.

Per tick the runner takes one snapshot (session state, the leader node, our term, whether
PostgreSQL has our epoch), a pure function decides, and the runner acts and logs the decision
when it changes ("site b: acquired sla-clock leadership, epoch 7").

Fencing, in three layers:
1. the session listener revokes the right to act the moment the session is SUSPENDED (before
   the leader node could expire and another site take over);
2. a new term's epoch is registered in PostgreSQL (`ccdr_fence`) before its first action;
3. every side effect carries the epoch and PostgreSQL refuses one older than the newest seen,
   so a deposed leader's late write (a frozen process that thaws) fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from failover.coordination import Coordination, CoordinationUnavailable, SessionState, Term

log = logging.getLogger(__name__)


class Step(StrEnum):
    ACQUIRE = "acquire"  # nobody leads: try to take the role
    REGISTER = "register"  # we lead: have PostgreSQL record the epoch before acting
    LEAD = "lead"  # we lead and are registered: act
    STAND_BY = "stand_by"  # another site leads
    SUSPEND = "suspend"  # session suspended: keep the term, act on nothing
    RELINQUISH = "relinquish"  # our term is over (session lost, node gone or replaced)


@dataclass(frozen=True)
class RoleView:
    role: str
    session: SessionState
    mine: Term | None  # the term we believe we hold
    leader: Term | None  # the leader node as read now (None when unread or vacant)
    leader_read: bool  # False when ZooKeeper did not answer
    registered: bool  # PostgreSQL has recorded our term's epoch


@dataclass(frozen=True)
class Decision:
    step: Step
    reason: str


def decide(view: RoleView) -> Decision:
    if view.session is SessionState.LOST:
        if view.mine:
            return Decision(Step.RELINQUISH, f"session lost: term {view.mine.epoch} is over")
        return Decision(Step.STAND_BY, "no ZooKeeper session")
    if view.session is SessionState.SUSPENDED:
        if view.mine:
            return Decision(Step.SUSPEND, "session suspended: stop acting until it is back or lost")
        return Decision(Step.STAND_BY, "ZooKeeper session suspended")
    if not view.leader_read:
        return Decision(Step.SUSPEND if view.mine else Step.STAND_BY, "leader node unreadable")
    if view.mine:
        leader = view.leader
        if leader is None or leader.epoch != view.mine.epoch or leader.session != view.mine.session:
            return Decision(Step.RELINQUISH, "our leader node is gone or replaced")
        if not view.registered:
            return Decision(Step.REGISTER, f"registering epoch {view.mine.epoch} with PostgreSQL")
        return Decision(Step.LEAD, f"leading, epoch {view.mine.epoch}")
    if view.leader is None:
        return Decision(Step.ACQUIRE, "role vacant")
    return Decision(Step.STAND_BY, f"{view.leader.holder} leads, epoch {view.leader.epoch}")


class StaleTerm(Exception):
    """PostgreSQL knows a newer epoch for the role: this term must end."""


# Registers the epoch with the store of side effects; raises StaleTerm if a newer one is known.
Register = Callable[[Term], Awaitable[None]]
# One unit of the role's work, allowed only while `may_act()` is true.
Work = Callable[["Singleton"], Awaitable[None]]


class Singleton:
    """One role's candidate at this site."""

    def __init__(self, role: str, holder: str, coord: Coordination, register: Register, work: Work) -> None:
        self.role = role
        self.holder = holder
        self.coord = coord
        self._register = register
        self._work = work
        self._term: Term | None = None
        self._registered = False
        # Set by the session listener on kazoo's thread: checked before every side effect.
        self._allowed = threading.Event()
        self.last: Decision | None = None
        coord.on_state(self._on_session)

    @property
    def term(self) -> Term | None:
        return self._term

    @property
    def leading(self) -> bool:
        return self._term is not None and self._registered and self._allowed.is_set()

    def may_act(self) -> bool:
        return self.leading

    def _on_session(self, state: SessionState) -> None:
        if state is not SessionState.CONNECTED:
            self._allowed.clear()  # fail closed at once; the loop sorts out the term later

    async def tick(self) -> Decision:
        view = await asyncio.to_thread(self._snapshot)
        decision = decide(view)
        await self._execute(decision)
        return decision

    def _snapshot(self) -> RoleView:
        session = self.coord.state
        leader, read = None, False
        if session is SessionState.CONNECTED:
            with contextlib.suppress(CoordinationUnavailable):
                leader, read = self.coord.leader(self.role), True
        return RoleView(self.role, session, self._term, leader, read, self._registered)

    async def _execute(self, decision: Decision) -> None:
        step = decision.step
        if step is Step.ACQUIRE:
            try:
                term = await asyncio.to_thread(self.coord.try_acquire, self.role, self.holder)
            except CoordinationUnavailable as exc:
                decision = Decision(Step.STAND_BY, f"could not campaign: {exc}")
                term = None
            if term is not None:
                self._term, self._registered = term, False
                decision = Decision(Step.ACQUIRE, f"acquired {self.role} leadership, epoch {term.epoch}")
        elif step is Step.REGISTER and self._term is not None:
            try:
                await self._register(self._term)
            except StaleTerm as exc:
                await self._relinquish(f"PostgreSQL refused epoch {self._term.epoch}: {exc}")
                return
            self._registered = True
            self._allowed.set()
            decision = Decision(Step.LEAD, f"leading {self.role}, epoch {self._term.epoch} (registered)")
        elif step is Step.LEAD:
            if self.coord.state is SessionState.CONNECTED:
                self._allowed.set()
        elif step is Step.SUSPEND:
            self._allowed.clear()
        elif step is Step.RELINQUISH:
            await self._relinquish(decision.reason)
            return
        self._log(decision)
        if self.leading:
            try:
                await self._work(self)
            except StaleTerm as exc:
                await self._relinquish(f"a newer leader exists: {exc}")

    async def _relinquish(self, reason: str) -> None:
        self._allowed.clear()
        term, self._term, self._registered = self._term, None, False
        if term is not None and self.coord.state is SessionState.CONNECTED:
            with contextlib.suppress(CoordinationUnavailable):  # the node dies with the session anyway
                await asyncio.to_thread(self.coord.release, term)
        self._log(Decision(Step.RELINQUISH, f"relinquished {self.role}: {reason}"))

    def _log(self, decision: Decision) -> None:
        if self.last is None or decision.step != self.last.step:
            log.info("site %s: %s", self.coord.site, decision.reason, extra={"role": self.role, "step": decision.step})
        self.last = decision

    async def stop(self) -> None:
        if self._term is not None:
            await self._relinquish("shutting down")
