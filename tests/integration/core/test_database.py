"""The services' PostgreSQL pools against a server that stops answering, on the lab's primary.

A frozen server (SIGSTOP, a hung host whose kernel still runs) keeps its connections open and
acknowledges every byte, so nothing but our own bound ends a wait on it. The frozen server here is
one real backend process, stopped with SIGSTOP, so the rest of the lab is untouched.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from core.database import answered_within, bounded_check
from infra.lab.database import app_dsn
from tests.integration.core.conftest import Front

pytestmark = pytest.mark.lab

CHECK_S = 0.5
HANG_GUARD_S = 20  # far beyond the bounds under test: the old, unbounded code fails here instead of hanging


async def _backend_pid(conn: psycopg.AsyncConnection[Any]) -> int:
    row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
    assert row is not None
    return int(row[0])


def test_work_without_an_answer_in_time_fails_and_closes_its_connection(front: Front) -> None:
    async def run() -> tuple[float, bool]:
        conn = await psycopg.AsyncConnection.connect(app_dsn(front.topo, front.secrets.app), autocommit=True)
        started = time.monotonic()
        async with asyncio.timeout(HANG_GUARD_S):
            with pytest.raises(psycopg.OperationalError):
                async with answered_within(conn, CHECK_S):
                    await conn.execute("SELECT pg_sleep(60)")
        return time.monotonic() - started, conn.closed

    waited, closed = asyncio.run(run())
    assert closed
    assert waited < HANG_GUARD_S / 4  # ended by the bound, not by the query


def test_a_pool_hands_out_another_connection_when_an_idle_ones_server_froze(front: Front) -> None:
    async def run() -> tuple[int, int]:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            app_dsn(front.topo, front.secrets.app),
            min_size=1,
            max_size=2,
            open=False,
            timeout=HANG_GUARD_S,
            check=bounded_check(CHECK_S),
        )
        await pool.open(wait=True)
        try:
            async with pool.connection() as conn:
                frozen = await _backend_pid(conn)
            os.kill(frozen, signal.SIGSTOP)
            try:
                async with asyncio.timeout(HANG_GUARD_S), pool.connection() as conn:
                    served = await _backend_pid(conn)
            finally:
                os.kill(frozen, signal.SIGCONT)
        finally:
            await pool.close()
        return frozen, served

    frozen, served = asyncio.run(run())
    assert served != frozen
