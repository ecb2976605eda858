"""Intake may write one intake to several partitions (a hedge: core.intake.kafka.routing), and the
two sites' workers may apply two copies at the same moment. The one whose insert lost is applied
once more and finds the intake applied: a duplicate, not an event set aside as rejected."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest

import core.tickets.kafka.consumer as consumer_module
from core.tickets.domain.batch import Positioned
from core.tickets.domain.outcome import Outcome
from tests.unit.core.intake.kafka.support import portal_event
from tests.unit.core.tickets.kafka.test_consumer_rebalance import _consumer


class Pool:
    def connection(self) -> Any:
        class Conn:
            async def __aenter__(self) -> Conn:
                return self

            async def __aexit__(self, *exc: object) -> None:
                return None

            def transaction(self) -> Conn:
                return self

        return Conn()


def _item() -> Positioned:
    return Positioned(portal_event(), 1, 42)


def _applying(monkeypatch: pytest.MonkeyPatch, violations: int) -> list[int]:
    calls: list[int] = []

    async def apply_intake(*_: object) -> Outcome:
        calls.append(1)
        if len(calls) <= violations:
            raise psycopg.errors.UniqueViolation("duplicate key value violates unique constraint intakes_pkey")
        return Outcome.DUPLICATE

    monkeypatch.setattr(consumer_module, "apply_intake", apply_intake)
    return calls


def test_a_copy_that_lost_the_race_is_applied_again_and_is_a_duplicate(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _applying(monkeypatch, violations=1)
    outcome = asyncio.run(_consumer(Pool())._apply_one(_item()))
    assert outcome is Outcome.DUPLICATE and len(calls) == 2


def test_a_violation_that_comes_back_is_the_events_own(monkeypatch: pytest.MonkeyPatch) -> None:
    _applying(monkeypatch, violations=2)
    with pytest.raises(psycopg.errors.UniqueViolation):
        asyncio.run(_consumer(Pool())._apply_one(_item()))
