"""The intake service of one site: HTTP (every webhook channel) and SMTP, one Kafka producer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from core.agents.sessions import SessionCheck, session_check
from core.database import pool_for
from core.http import observability, problems
from core.http.health_thread import HealthServer
from core.intake.domain.admission import Gate, LoopPressure
from core.intake.http.router import build_router
from core.intake.kafka.bus import IntakeBus, KafkaIntakeBus
from core.intake.mail.smtp import server_tls, start_smtp
from core.intake.service import IN_FLIGHT, IntakeService
from core.settings import ServiceSettings, store_limits

LAG_PROBE_S = 0.05  # how often the event loop's lag is sampled
READS_TIMEOUT_S = 3  # the revocation list's read waits this long for any database node


def create_app(
    settings: ServiceSettings,
    bus: IntakeBus | None = None,
    *,
    side_listeners: bool = True,
    sessions: SessionCheck | None = None,
) -> FastAPI:
    """`sessions` checks the agents who enter hotline and walk-in intakes; by default their tokens'
    revocations are read from any database node (intake itself never writes to the database)."""
    reads = None
    if sessions is None:
        reads = pool_for(settings, "intake-reads", max_size=1, timeout=READS_TIMEOUT_S, any_node=True)
        sessions = session_check(settings, reads)
    agents = sessions
    kafka_bus = bus or KafkaIntakeBus(
        settings.kafka.bootstrap,
        settings.kafka.intake_topic,
        auth=settings.kafka.auth,
        ack_timeout_s=settings.intake.ack_timeout_s,
        retry_after_s=settings.intake.retry_after_s,
        request_timeout_ms=settings.intake.kafka_request_timeout_ms,
        hedge_after_ms=settings.intake.hedge_after_ms,
        suspect_s=settings.intake.suspect_s,
        max_hedged=settings.intake.max_in_flight // 2,
        client_id=f"ccdr-intake-{settings.site}",
    )
    intake = settings.intake
    gate = Gate(intake.max_in_flight, intake.normal_share)
    IN_FLIGHT.set_function(lambda: gate.in_flight)  # the gate's own count, not a second one
    pressure = LoopPressure(intake.max_loop_lag_ms / 1000, intake.loop_lag_sustain)
    service = IntakeService(kafka_bus, settings.site, store_limits(settings), gate, intake.shed_retry_after_s, pressure)
    begin_stopping = kafka_bus.begin_stopping if isinstance(kafka_bus, KafkaIntakeBus) else None

    async def watch_loop_lag() -> None:
        loop = asyncio.get_running_loop()
        while True:
            expected = loop.time() + LAG_PROBE_S
            await asyncio.sleep(LAG_PROBE_S)
            pressure.observe(expected, loop.time())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if isinstance(kafka_bus, KafkaIntakeBus):
            await kafka_bus.start()
        lag_watch = asyncio.create_task(watch_loop_lag())
        if reads is not None:
            await reads.open(wait=False)
        revocations = asyncio.create_task(agents.revocations.run())
        smtp = None
        listen = settings.intake_listen
        health = None
        if side_listeners and listen.health_port:
            health = HealthServer(listen.host, listen.health_port, {"/readyz": kafka_bus.not_ready})
        if health is not None:
            health.start()
        if side_listeners and listen.smtp_port:
            tls = server_tls(listen.tls_cert, listen.tls_key) if listen.tls_cert and listen.tls_key else None
            smtp = await start_smtp(
                service,
                listen.host,
                listen.smtp_port,
                settings.intake.max_email_bytes,
                f"intake-{settings.site}",
                tls=tls,
                require_tls=listen.smtp_require_tls,
            )
        try:
            yield
        finally:
            lag_watch.cancel()
            revocations.cancel()
            if reads is not None:
                await reads.close()
            if health is not None:
                health.stop()
            if smtp:
                smtp.close()
                await smtp.wait_closed()
            if isinstance(kafka_bus, KafkaIntakeBus):
                await kafka_bus.stop()

    app = FastAPI(
        title="ccdr intake",
        version="1",
        description="24/7 multichannel incident intake. 202 means Kafka acknowledged the event.",
        lifespan=lifespan,
    )
    app.state.begin_stopping = begin_stopping  # ccdr.serve calls it when the process is told to stop
    problems.install(app)
    observability.install(app, "intake", kafka_bus.not_ready)
    app.include_router(build_router(service, settings, agents))
    return app
