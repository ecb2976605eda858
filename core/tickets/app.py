"""The ticket service of one site: the intake consumer, the outbox relay and the ticket API."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from core.agents import router as agents_router
from core.agents.service import AgentService
from core.database import pool_for
from core.http import observability, problems
from core.settings import ServiceSettings
from core.tickets.consumer import IntakeConsumer
from core.tickets.outbox import OutboxRelay
from core.tickets.planning import Policies
from core.tickets.router import build_router
from core.tickets.service import TicketService
from failover.coordination import CoordinationUnavailable
from failover.presence import PresenceBoard
from failover.zookeeper import ZooKeeperCoordination

ROSTER_MAX_BYTES = 2 * 1024 * 1024

log = logging.getLogger(__name__)


def create_app(settings: ServiceSettings, *, run_workers: bool = True) -> FastAPI:
    pool = pool_for(settings, "tickets", max_size=8, timeout=10)
    consumer = IntakeConsumer(
        bootstrap=settings.kafka.bootstrap,
        topic=settings.kafka.intake_topic,
        group=settings.tickets.consumer_group,
        pool=pool,
        policies=Policies(),
        max_batch=settings.tickets.max_batch,
        client_id=f"ccdr-tickets-{settings.site}",
    )
    relay = OutboxRelay(
        pool=pool,
        bootstrap=settings.kafka.bootstrap,
        topic=settings.kafka.ticket_events_topic,
        interval_s=settings.tickets.outbox_interval_ms / 1000,
        client_id=f"ccdr-outbox-{settings.site}",
    )
    coord = ZooKeeperCoordination(
        settings.zookeeper_hosts,
        settings.site,
        session_timeout=settings.failover.session_timeout_s,
        op_timeout=settings.failover.op_timeout_s,
    )
    presence = PresenceBoard(coord)
    agents = AgentService(pool, settings.site, timedelta(hours=settings.agents.session_ttl_h), presence)
    workers: list[asyncio.Task[None]] = []

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
        if run_workers:
            workers.extend([asyncio.create_task(consumer.run()), asyncio.create_task(relay.run())])
            for task in workers:
                task.add_done_callback(_crash_if_failed)
        presence_task = asyncio.create_task(keep_presence())
        try:
            yield
        finally:
            presence_task.cancel()
            for task in workers:
                task.cancel()
            await asyncio.gather(presence_task, *workers, return_exceptions=True)
            await asyncio.to_thread(coord.stop)
            await pool.close()

    def not_ready() -> str | None:
        stats = pool.get_stats()
        if stats.get("pool_size", 0) == 0:
            return "no database connection"
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


def _crash_if_failed(task: asyncio.Task[None]) -> None:
    """A worker that dies must take the process with it: supervisord restarts it, nobody limps on."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.critical("worker crashed: %r", exc)
        os.kill(os.getpid(), signal.SIGTERM)
