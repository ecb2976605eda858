"""The SLA clock's pass on an in-memory store: each due action recorded once with the lease's
fence, each ticket looked at again later, a lease lost mid-pass stops it at once, and a refused
fence ends the pass with FencedOut."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from core.domain.escalation import EscalationChain, SupportLevel
from core.domain.priority import Priority
from core.domain.ticket_states import TicketState
from core.leases import Fence, FencedOut
from core.tickets.clock_worker import SlaClock
from core.tickets.domain.sla_clock import ClockView, due_actions
from tests.fakes import CountedLease, MemoryClockStore

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=5)
HORIZON = timedelta(hours=1)


def _breached(code: str, opened: datetime = T0) -> ClockView:
    """A P2 in progress whose response and resolution are overdue by `NOW`."""
    return ClockView(
        code=code,
        status=TicketState.IN_PROGRESS,
        priority=Priority.P2,
        level=SupportLevel.L1,
        opened_at=opened,
        level_since=opened,
        chain=EscalationChain(),
        response_due=opened + timedelta(minutes=30),
        response_warn_at=opened + timedelta(minutes=20),
        resolution_due=opened + timedelta(hours=4),
        resolution_warn_at=opened + timedelta(hours=3),
    )


def _lease(epoch: int = 3, acts: int = 10_000) -> CountedLease:
    return CountedLease("sla-clock", "b", epoch, acts)


def _clock(store: MemoryClockStore, batch: int = 100) -> SlaClock:
    return SlaClock(store, batch, HORIZON, now=lambda: NOW)


def test_every_due_action_is_recorded_once_with_the_leases_fence_and_each_ticket_rescheduled() -> None:
    views = [_breached("INC-A"), _breached("INC-B", T0 + timedelta(minutes=5))]
    expected = {(v.code, a.key) for v in views for a in due_actions(v, NOW)}
    store = MemoryClockStore(views)
    asyncio.run(_clock(store)(_lease()))
    assert {(code, key) for code, key, _ in store.recorded} == expected and len(store.recorded) == len(expected)
    assert {fence for _, _, fence in store.recorded} == {Fence("sla-clock", 3, "sla-clock@b")}
    assert sorted(store.rescheduled) == ["INC-A", "INC-B"]


def test_a_pass_reads_in_batches_until_nothing_is_due() -> None:
    views = [_breached(f"INC-{n}", T0 + timedelta(seconds=n)) for n in range(5)]
    store = MemoryClockStore(views)
    asyncio.run(_clock(store, batch=2)(_lease()))
    assert sorted(store.rescheduled) == sorted(v.code for v in views)


def test_a_lease_lost_mid_pass_stops_at_once() -> None:
    store = MemoryClockStore([_breached("INC-A"), _breached("INC-B")])
    asyncio.run(_clock(store)(_lease(acts=2)))  # the loop's check, then one action
    assert len(store.recorded) == 1 and store.rescheduled == []


def test_a_refused_fence_ends_the_pass_with_fenced_out() -> None:
    store = MemoryClockStore([_breached("INC-A")])
    store.newest_epoch["sla-clock"] = 4  # a newer leader wrote meanwhile
    with pytest.raises(FencedOut):
        asyncio.run(_clock(store)(_lease(epoch=3)))
    assert store.recorded == [] and store.rescheduled == []


def test_an_action_that_is_no_longer_due_is_not_retried_in_the_same_pass() -> None:
    view = _breached("INC-A")
    store = MemoryClockStore([view])
    store.refuse = {a.key for a in due_actions(view, NOW)}  # e.g. the ticket moved meanwhile
    asyncio.run(_clock(store, batch=1)(_lease()))
    assert store.recorded == [] and store.rescheduled == ["INC-A"]  # looked at once, then left for later
    assert store.reads == 2  # the second read found nothing new: the pass ended
