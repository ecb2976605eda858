"""The services' PostgreSQL pools, built one way: the multi-host read-write DSN from the
settings, connections checked on checkout (a demoted primary's are dropped), and the component
named in `application_name` so its role shows in pg_stat_activity."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from core.leases import FencedOut
from core.settings import ServiceSettings

STALE_EPOCH = "CCF01"  # the SQLSTATE ccdr_fence() raises for an epoch older than the newest (migration 0003)


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
        check=AsyncConnectionPool.check_connection,
        # psycopg_pool retries a lost connection with a doubling delay until reconnect_timeout: after
        # a 20 s failover its next try could be 16 s away. Giving up early makes the next request
        # start a fresh attempt at once (measured: tickets resumed ~10 s after the new primary).
        reconnect_timeout=settings.database_reconnect_s,
        kwargs={"application_name": f"ccdr-{component}-{settings.site}"},
    )
