"""The ticket API of one site (the intake consumer and the outbox relay run apart, in the ticket
worker: core.tickets.worker, so nothing they meet can take the API down)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import psycopg
from fastapi import FastAPI
from psycopg_pool import PoolTimeout

from core.agents import router as agents_router
from core.agents.service import AgentService
from core.database import pool_for
from core.http import observability, problems
from core.settings import ServiceSettings
from core.tickets.router import build_router
from core.tickets.service import TicketService
from failover.coordination import CoordinationUnavailable
from failover.presence import PresenceBoard
from failover.zookeeper import ZooKeeperCoordination

ROSTER_MAX_BYTES = 2 * 1024 * 1024
READY_TIMEOUT_S = 1.5  # below HAProxy's check timeout (timers.haproxy.connect_timeout_ms)

log = logging.getLogger(__name__)


def create_app(settings: ServiceSettings) -> FastAPI:
    pool = pool_for(settings, "tickets", max_size=8, timeout=10)
    coord = ZooKeeperCoordination(
        settings.zookeeper_hosts,
        settings.site,
        session_timeout=settings.failover.session_timeout_s,
        op_timeout=settings.failover.op_timeout_s,
    )
    presence = PresenceBoard(coord)
    agents = AgentService(pool, settings.site, timedelta(hours=settings.agents.session_ttl_h), presence)

    async def keep_presence() -> None:
        """Connect to ZooKeeper (it may come up after us) and re-create presence lost with a session."""
        started = False
        while True:
            try:
                if not started:  # after that, kazoo reconnects (and renews an expired session) itself
                    await asyncio.to_thread(coord.start, settings.failover.session_timeout_s)
                    started = True
                restored = await presence.restore()
                if restored:
                    log.info("presence: restored %d records after a session loss", restored)
            except CoordinationUnavailable as exc:
                log.warning("presence: %s", exc)
            await asyncio.sleep(settings.failover.heartbeat_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pool.open(wait=False)
        presence_task = asyncio.create_task(keep_presence())
        try:
            yield
        finally:
            presence_task.cancel()
            await asyncio.gather(presence_task, return_exceptions=True)
            await asyncio.to_thread(coord.stop)
            await pool.close()

    async def not_ready() -> str | None:
        # Ask for a connection rather than reading the pool's size: after a failover the pool holds
        # none until someone asks, and a site HAProxy took out would never be asked (found by a
        # site-loss drill: the surviving ticket API stayed out of the front door for good).
        try:
            async with pool.connection(timeout=READY_TIMEOUT_S) as conn:
                await conn.execute("SELECT 1")
        except (PoolTimeout, psycopg.OperationalError) as exc:
            return f"no database connection ({type(exc).__name__})"
        return None

    app = FastAPI(
        title="ccdr tickets",
        version="1",
        description="Tickets built from intake events: read, filter, search, move, log work, resolve.",
        lifespan=lifespan,
    )
    problems.install(app)
    observability.install(app, "tickets", not_ready)
    authenticate = agents_router.authenticator(agents)
    app.include_router(agents_router.build_router(agents, authenticate, ROSTER_MAX_BYTES))
    app.include_router(build_router(TicketService(pool), settings.tickets.page_size_max, authenticate))
    return app
