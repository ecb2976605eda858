"""The services' PostgreSQL pools, built one way: the multi-host read-write DSN from the
settings, connections checked on checkout within a bound (a demoted or frozen primary's are
dropped), and the component named in `application_name` so its role shows in pg_stat_activity."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from core.leases import FencedOut
from core.settings import ServiceSettings

STALE_EPOCH = "CCF01"  # the SQLSTATE ccdr_fence() raises for an epoch older than the newest (migration 0003)


@asynccontextmanager
async def answered_within(conn: psycopg.AsyncConnection[Any], seconds: float) -> AsyncIterator[None]:
    """Close `conn` if the work inside has not finished within `seconds`: the work then fails with
    an OperationalError (psycopg polls a waiting connection every 0.1 s) instead of hanging.

    A frozen server (SIGSTOP, a hung host whose kernel still runs) keeps its TCP connections open
    and acknowledges our bytes, so neither TCP keepalives nor `tcp_user_timeout` ever fire, and
    cancelling the awaiting task makes psycopg send a cancel request and wait for that same server
    up to 10 s more. Closing the socket is what ends the wait at once."""
    loop = asyncio.get_running_loop()
    closing: list[asyncio.Task[None]] = []
    timer = loop.call_later(seconds, lambda: closing.append(loop.create_task(conn.close())))
    try:
        yield
    finally:
        timer.cancel()
        if closing:
            await closing[0]


def bounded_check(seconds: float) -> Callable[[psycopg.AsyncConnection[Any]], Awaitable[None]]:
    """The pool's check on checkout (an empty query), closing a connection whose server does not
    answer within `seconds`; the pool then discards it and tries another."""

    async def check(conn: psycopg.AsyncConnection[Any]) -> None:
        async with answered_within(conn, seconds):
            await AsyncConnectionPool.check_connection(conn)

    return check


@asynccontextmanager
async def autocommit_connection(pool: AsyncConnectionPool[Any]) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A pooled connection in autocommit for the length of the block: a read outside
    `conn.transaction()` leaves no transaction open, and each `conn.transaction()` is a transaction
    of its own, committed at its end, so its row locks go with it.

    Without it the SLA clock's first read of a pass began a transaction that lasted the whole pass:
    every `conn.transaction()` after it was only a savepoint, and every ticket the clock acted on
    stayed locked until the pass ended. With hundreds of tickets due at once (an hour after a burst
    of intake, their first escalation) a pass took seconds, and the ticket worker waited up to 18 s
    on those rows (partition-a-b, 2026-12-07: log_lock_waits named the clock's backend)."""
    async with pool.connection() as conn:
        await conn.set_autocommit(True)
        try:
            yield conn
        finally:
            # The pool hands the connection to others, who expect its default (no autocommit).
            if not conn.closed:
                with suppress(psycopg.Error):
                    await conn.set_autocommit(False)


@contextmanager
def fenced() -> Iterator[None]:
    """Fenced writes: PostgreSQL refusing our epoch is FencedOut; any other error passes through."""
    try:
        yield
    except psycopg.Error as exc:
        if exc.sqlstate == STALE_EPOCH:
            raise FencedOut(str(exc).splitlines()[0]) from exc
        raise


def pool_for(
    settings: ServiceSettings, component: str, *, max_size: int, timeout: float, any_node: bool = False
) -> AsyncConnectionPool[Any]:
    """`any_node`: this site's node first, whatever its role (reads that must not wait for a primary)."""
    dsn = settings.database_read_dsn if any_node else settings.database_dsn
    return AsyncConnectionPool(
        dsn.get_secret_value(),
        min_size=1,
        max_size=max_size,
        open=False,
        timeout=timeout,
        check=bounded_check(settings.database_check_timeout_s),
        # psycopg_pool retries a lost connection with a doubling delay until reconnect_timeout: after
        # a 20 s failover its next try could be 16 s away. Giving up early makes the next request
        # start a fresh attempt at once (measured: tickets resumed ~10 s after the new primary).
        reconnect_timeout=settings.database_reconnect_s,
        kwargs={"application_name": f"ccdr-{component}-{settings.site}"},
    )
