"""The ticket worker of one site (`ccdr serve ticket-worker`): the intake consumer and the outbox
relay, in a process of their own. Its own process is the bulkhead: whatever the pipeline meets,
the ticket API (core.tickets.app) keeps answering, and supervisord restarts only this."""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import UTC, datetime

from prometheus_client import start_http_server

from core.database import pool_for
from core.domain.sla import vietnam_holidays
from core.lifecycle import run_together
from core.settings import ServiceSettings, store_limits
from core.tickets.domain.planning import Policies
from core.tickets.kafka.consumer import IntakeConsumer, WorkerTuning
from core.tickets.kafka.outbox import OutboxRelay

log = logging.getLogger(__name__)
POOL_TIMEOUT_S = 10


async def run(settings: ServiceSettings) -> None:
    tickets = settings.tickets
    pool = pool_for(settings, "ticket-worker", max_size=tickets.worker_pool_size, timeout=POOL_TIMEOUT_S)
    targets, overrides = tickets.sla_policies()
    consumer = IntakeConsumer(
        bootstrap=settings.kafka.bootstrap,
        auth=settings.kafka.auth,
        topic=settings.kafka.intake_topic,
        quarantine_topic=settings.kafka.quarantine_topic,
        group=tickets.consumer_group,
        pool=pool,
        policies=Policies(targets=targets, sla_overrides=overrides),
        limits=store_limits(settings),
        tuning=WorkerTuning(
            max_batch=tickets.max_batch,
            session_timeout_ms=tickets.session_timeout_ms,
            heartbeat_interval_ms=tickets.heartbeat_interval_ms,
            request_timeout_ms=tickets.kafka_request_timeout_ms,
            db_timeout_s=tickets.db_timeout_s,
            hold_s=tickets.hold_for_ticket_s,
            held_check_s=tickets.held_check_ms / 1000,
        ),
        client_id=f"ccdr-tickets-{settings.site}",
        worker=f"ticket-worker@{settings.site}",
        # A site may run a worker on each of several hosts (production): one member id each.
        member=f"ticket-worker@{settings.site}/{socket.gethostname()}",
    )
    relay = OutboxRelay(
        pool=pool,
        bootstrap=settings.kafka.bootstrap,
        auth=settings.kafka.auth,
        topic=settings.kafka.ticket_events_topic,
        interval_s=tickets.outbox_interval_ms / 1000,
        publish_timeout_s=tickets.outbox_publish_timeout_s,
        request_timeout_ms=tickets.kafka_request_timeout_ms,
        client_id=f"ccdr-outbox-{settings.site}",
    )
    listen = settings.ticket_worker_listen
    start_http_server(listen.http_port, addr=listen.host)  # /metrics, in a thread of its own
    # The first SLA computed imports the `holidays` library's country modules: seconds of CPU on a
    # busy machine. Inside the first batch that blocked the event loop past the group's session, so
    # a restored site's worker was dropped right after joining (py-spy, make demo conditions:
    # tickets 8-12 s late). Done here, before the worker joins the group.
    await asyncio.to_thread(vietnam_holidays, [datetime.now(UTC).year])
    await pool.open(wait=False)
    try:
        await run_together(
            {"intake consumer": consumer.run(), "outbox relay": relay.run()}, stop_within_s=tickets.failed_exit_s
        )
    finally:
        await pool.close()
