"""Core's singleton work (core.tickets.clock_worker.SlaClock, core.agents.dispatch_worker.Dispatcher)
run under a leadership term: the term becomes core's Lease, and the database refusing the term's
epoch (core's FencedOut) ends the term (StaleTerm), so the runner relinquishes at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from core.leases import Fence, FencedOut
from failover.election import Singleton, StaleTerm, Work


class TermLease:
    """A Singleton's current term as core.leases.Lease."""

    def __init__(self, runner: Singleton) -> None:
        self.runner = runner

    def may_act(self) -> bool:
        return self.runner.may_act()

    def fence(self) -> Fence:
        term = self.runner.term
        if term is None:
            raise StaleTerm("no term: the role was lost")
        return Fence(self.runner.role, term.epoch, f"{self.runner.role}@{self.runner.coord.site}")


def under_term(work: Callable[[TermLease], Awaitable[None]]) -> Work:
    """Core work as a Singleton's work."""

    async def run(runner: Singleton) -> None:
        try:
            await work(TermLease(runner))
        except FencedOut as exc:
            raise StaleTerm(str(exc)) from exc

    return run
