"""One candidate of a leader-elected role run as a process of its own, outside the data sites'
services (the drill scheduler, the desk-report scheduler): its ZooKeeper session, a small pool to
the database (the fencing epochs live there), the Singleton and its loop, until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from typing import Any

from psycopg_pool import AsyncConnectionPool

from failover.election import Singleton, Work
from failover.fencing import registrar
from failover.loops import every
from failover.zookeeper import ZooKeeperCoordination
from infra.lab import secrets as lab_secrets
from infra.lab.database import app_dsn
from infra.lab.layout import LabLayout
from infra.lab.pki import zookeeper_tls
from infra.topology import Topology

log = logging.getLogger(__name__)
POOL_SIZE = 2
POOL_TIMEOUT_S = 10


async def run_candidate(
    topo: Topology, candidate: str, role: str, make_work: Callable[[AsyncConnectionPool[Any]], Work]
) -> None:
    """Run until SIGTERM/SIGINT; `make_work` builds the role's work over the database pool."""
    fo = topo.failover
    coord = ZooKeeperCoordination(
        topo.zookeeper_connect(),
        candidate,
        session_timeout=fo.session_timeout_s,
        op_timeout=fo.op_timeout_s,
        auth=lab_secrets.zookeeper_auth(topo),
        tls=zookeeper_tls(topo),
    )
    await asyncio.to_thread(coord.start, fo.session_timeout_s)
    dsn = app_dsn(topo, lab_secrets.load(LabLayout(topo)).app)
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        dsn, min_size=1, max_size=POOL_SIZE, open=False, timeout=POOL_TIMEOUT_S
    )
    await pool.open(wait=False)
    singleton = Singleton(role, candidate, coord, registrar(pool), make_work(pool))
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    loop = asyncio.create_task(every(fo.loop_s, singleton.tick, f"role {role}"))
    log.info("%s candidate %s running", role, candidate)
    await stop.wait()
    loop.cancel()
    await asyncio.gather(loop, return_exceptions=True)
    await singleton.stop()
    await asyncio.to_thread(coord.stop)
    await pool.close()
