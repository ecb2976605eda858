"""The ticket API of one site (the intake consumer and the outbox relay run apart, in the ticket
worker: core.tickets.worker, so nothing they meet can take the API down)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from datetime import timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from core.agents.domain.presence import Presence
from core.agents.domain.throttle import LoginLimits
from core.agents.http import router as agents_router
from core.agents.login_records import LoginRecorder
from core.agents.revocation_watch import NotLoaded
from core.agents.service import AgentService
from core.agents.sessions import session_check
from core.agents.store.pg import login_writer
from core.console.panels import Panel
from core.console.router import STATIC_DIR, build_console_router
from core.database import pool_for
from core.http import observability, problems
from core.http.body_limit import BodyLimit
from core.http.health_thread import HealthServer
from core.http.readiness_watch import ReadinessWatch
from core.knowledge.http import build_knowledge_router
from core.knowledge.service import KnowledgeService
from core.knowledge.store import PgKnowledgeStore
from core.settings import ServiceSettings
from core.tickets.http.onsite_router import build_onsite_router
from core.tickets.http.router import build_router
from core.tickets.http.status_page import build_status_router
from core.tickets.kpi_metrics import DeskGauges
from core.tickets.onsite import OnsiteService
from core.tickets.service import TicketService
from core.tickets.store.board import PgBoard
from core.tickets.store.onsite import PgOnsiteStore
from core.tickets.store.pg import PgTicketStore

ROSTER_MAX_BYTES = 2 * 1024 * 1024
READY_TIMEOUT_S = 1.5  # below HAProxy's check timeout (timers.haproxy.connect_timeout_ms)
READS_TIMEOUT_S = 3  # a sign-in waits this long for any database node
# The health port's answers (core.http.readiness_watch): refreshed this often on the event loop,
# and not believed once older than the slowest check (a read's 3 s wait) plus a margin.
READY_EVERY_S = 0.5
READY_STALE_S = 5.0
PRIMARY_READ_WAIT_S = 1.0  # a ticket read waits this long for the primary, then reads at any node

log = logging.getLogger(__name__)


def create_app(
    settings: ServiceSettings,
    presence: Presence,
    alongside: Callable[[], AbstractAsyncContextManager[None]] = nullcontext,
    panels: list[Panel] | None = None,
) -> FastAPI:
    """The ticket and agent API. `presence` says who is on duty where (wired by ccdr.serve: the
    failover layer's ZooKeeper board); `alongside` runs for as long as the app does (keeping that
    board's records); `panels` are console pages of outer layers (SRE status, drill reports)."""
    pool = pool_for(settings, "tickets", max_size=8, timeout=10)
    reads = pool_for(settings, "tickets-reads", max_size=4, timeout=READS_TIMEOUT_S, any_node=True)
    a = settings.agents
    limits = LoginLimits(a.login_max_failures, a.login_max_client_failures, timedelta(seconds=a.login_window_s))
    sessions = session_check(settings, reads)
    recorder = LoginRecorder(login_writer(pool), a.login_record_retry_s)
    agents = AgentService(
        pool,
        reads,
        settings.site,
        timedelta(hours=a.session_ttl_h),
        presence,
        limits,
        sessions,
        recorder,
        a.login_record_wait_s,
    )

    # The desk's KPIs on /metrics, read at any node: a report must not load the primary.
    read_dsn = settings.database_read_dsn.get_secret_value()
    gauges = DeskGauges(
        partial(psycopg.AsyncConnection.connect, read_dsn, application_name=f"ccdr-desk-kpis-{settings.site}"),
        ZoneInfo(settings.customer.timezone),
        settings.tickets.kpi_refresh_s,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pool.open(wait=False)
        await reads.open(wait=False)
        background = [
            asyncio.create_task(sessions.revocations.run()),
            asyncio.create_task(recorder.run()),
            asyncio.create_task(gauges.run()),
        ]
        health = None
        listen = settings.tickets_listen
        if listen.health_port:
            watch = ReadinessWatch({"/readyz": not_ready, "/readyz/reads": cannot_read}, READY_EVERY_S, READY_STALE_S)
            background.append(asyncio.create_task(watch.run()))
            paths = ("/readyz", "/readyz/reads")
            health = HealthServer(listen.host, listen.health_port, {p: watch.reader(p) for p in paths})
            health.start()
        try:
            async with alongside():
                yield
        finally:
            if health is not None:
                health.stop()
            for task in background:
                task.cancel()
            await reads.close()
            await pool.close()

    async def unreachable(through: AsyncConnectionPool[Any]) -> str | None:
        # Ask for a connection rather than reading the pool's size: after a failover the pool holds
        # none until someone asks, and a site HAProxy took out would never be asked (found by a
        # site-loss drill: the surviving ticket API stayed out of the front door for good). The
        # pool's own check on checkout asks the server, within database.check_timeout_s
        # (core.database.bounded_check): a connection handed out has just answered.
        try:
            async with through.connection(timeout=READY_TIMEOUT_S):
                pass
        except (PoolTimeout, psycopg.OperationalError) as exc:
            return f"no database connection ({type(exc).__name__})"
        return None

    async def not_ready() -> str | None:
        return await unreachable(pool)

    async def cannot_read() -> str | None:
        """Ready to sign agents in and check tokens: a database node answers and the revocation
        list has been read (the front door's fallback while no site reaches a primary)."""
        try:
            sessions.revocations.current  # noqa: B018 - raises until the list has been read
        except NotLoaded as exc:
            return str(exc)
        return await unreachable(reads)

    app = FastAPI(
        title="ccdr tickets",
        version="1",
        description="Tickets built from intake events: read, filter, search, move, log work, resolve.",
        lifespan=lifespan,
    )
    problems.install(app)
    app.add_middleware(BodyLimit, limit=settings.tickets.max_body_bytes, per_path={"/v1/roster": ROSTER_MAX_BYTES})
    observability.install(app, "tickets", not_ready)
    observability.readiness_route(app, "/readyz/reads", cannot_read)
    authenticate = agents_router.authenticator(agents)
    app.include_router(agents_router.build_router(agents, authenticate, ROSTER_MAX_BYTES))
    tickets = TicketService(PgTicketStore(pool, standby=reads, primary_wait_s=PRIMARY_READ_WAIT_S))
    app.include_router(build_router(tickets, settings.tickets.page_size_max, authenticate))
    app.include_router(build_onsite_router(OnsiteService(PgOnsiteStore(pool)), authenticate))
    app.include_router(build_knowledge_router(KnowledgeService(PgKnowledgeStore(pool)), authenticate))
    # The agent console: the same services, as pages; Secure cookies whenever it is reached over TLS.
    secure = settings.public_base_url.startswith("https://")
    board = PgBoard(pool, presence)
    app.include_router(
        build_console_router(agents, tickets, board, settings.site, secure_cookies=secure, panels=panels)
    )
    app.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    # The customers' status pages (their link is the credential, no sign-in).
    key = settings.customer.status_link_key.get_secret_value()
    app.include_router(build_status_router(tickets, key, ZoneInfo(settings.customer.timezone)))
    return app
