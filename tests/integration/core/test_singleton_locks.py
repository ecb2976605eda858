"""The singletons (SLA clock, dispatcher) hold a ticket's row lock only while they write to it,
not for the rest of their pass: the ticket worker updates the same tickets meanwhile.

On the lab's primary, through the stores the failover agent uses (core.tickets.store.pg)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from core.agents.store.pg import PgDispatchStore
from core.tickets.store.pg import PgClockStore
from infra.lab.database import app_dsn
from tests.integration.core.conftest import Front

pytestmark = pytest.mark.lab

VALID = {"contact": {"email": "ops@example.vn"}, "subject": "máy chủ không phản hồi"}


def _new_ticket(front: Front, unique: Callable[[str], str]) -> str:
    r = front.post("portal", {**VALID, "subject": unique("singleton locks")})
    assert r.status_code == 202, r.text
    code = str(r.json()["ticket_code"])
    front.ticket(code)
    return code


async def _lockable_elsewhere(dsn: str, code: str) -> bool:
    """Whether another session can lock the ticket's row at once (NOWAIT)."""
    async with await psycopg.AsyncConnection.connect(dsn) as other:
        try:
            await other.execute("SELECT 1 FROM tickets WHERE code = %s FOR UPDATE NOWAIT", (code,))
        except psycopg.errors.LockNotAvailable:
            return False
        await other.rollback()
    return True


def test_the_sla_clock_releases_a_ticket_once_it_has_written_to_it(front: Front, unique: Callable[[str], str]) -> None:
    code = _new_ticket(front, unique)
    dsn = app_dsn(front.topo, front.secrets.app)

    async def run() -> tuple[bool, bool]:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(dsn, min_size=1, max_size=1, open=False)
        await pool.open(wait=True)
        try:
            async with PgClockStore(pool).session() as clock:
                now = datetime.now(UTC)
                await clock.due(now, 1)  # the pass's first read
                await clock.reschedule(code, now, timedelta(hours=1))  # locks the row, writes, commits
                free_mid_pass = await _lockable_elsewhere(dsn, code)
            async with pool.connection() as conn:  # the next user of the pooled connection
                default_restored = not conn.autocommit
            return free_mid_pass, default_restored
        finally:
            await pool.close()

    free_mid_pass, default_restored = asyncio.run(asyncio.wait_for(run(), 60))
    assert free_mid_pass, "the clock's pass still held the ticket's row lock after its write"
    assert default_restored


def test_the_dispatcher_holds_no_transaction_between_its_reads_and_writes(front: Front) -> None:
    dsn = app_dsn(front.topo, front.secrets.app)

    async def run() -> str:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(dsn, min_size=1, max_size=1, open=False)
        await pool.open(wait=True)
        try:
            async with PgDispatchStore(pool).session() as dispatch:
                await dispatch.load()  # a read of the pass
                return dispatch.conn.info.transaction_status.name
        finally:
            await pool.close()

    assert asyncio.run(asyncio.wait_for(run(), 60)) == "IDLE"
