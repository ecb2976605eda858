"""The notifier (a cold-standby component: one site runs it). Reads `ticket.events.v1` and
delivers notices into a Maildir (the lab has no mail relay; a production deployment points
it at its smarthost). Each (event, recipient) is recorded in PostgreSQL before delivery, so a
failover that re-reads the topic never sends the same notice twice."""

from __future__ import annotations

import asyncio
import logging
import mailbox
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from psycopg_pool import AsyncConnectionPool
from pydantic import ValidationError

from core.database import pool_for
from core.kafka import METADATA_MAX_AGE_MS, connection_options, start_when_reachable
from core.notify.domain.rules import Notice, TicketEventMessage, notices
from core.settings import ServiceSettings

log = logging.getLogger(__name__)
GROUP = "ccdr-notifier"


def deliver(maildir: Path, sender: str, to: str, notice: Notice) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, notice.subject
    msg.set_content(notice.body)
    mailbox.Maildir(maildir, create=True).add(msg)


async def handle(
    pool: AsyncConnectionPool[Any], event: TicketEventMessage, settings: ServiceSettings, maildir: Path
) -> int:
    sent = 0
    for notice in notices(event, settings.failover.duty_manager):
        async with pool.connection() as conn, conn.transaction():
            row = await (
                await conn.execute(
                    """INSERT INTO notifications (event_id, recipient, ticket_code, kind, site)
                       VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING event_id""",
                    (event.event_id, notice.recipient, event.ticket_code, event.kind, settings.site),
                )
            ).fetchone()
            if row is None:
                continue  # sent before (by us or by the other site before a failover)
            to = notice.recipient
            if "@" not in to:  # an agent id: deliver to their e-mail when they have one
                row = await (await conn.execute("SELECT email FROM agents WHERE id = %s", (to,))).fetchone()
                to = row[0] if row and row[0] else to
            await asyncio.to_thread(deliver, maildir, f"ccdr-notifier@{settings.site}", to, notice)
            sent += 1
    return sent


async def run(settings: ServiceSettings) -> None:
    maildir = Path(settings.mail_dir)
    pool = pool_for(settings, "notifier", max_size=2, timeout=10)
    await pool.open(wait=False)

    def make() -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            settings.kafka.ticket_events_topic,
            bootstrap_servers=settings.kafka.bootstrap,
            group_id=GROUP,
            client_id=f"ccdr-notifier-{settings.site}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            metadata_max_age_ms=METADATA_MAX_AGE_MS,
            **connection_options(settings.kafka.auth),
        )

    consumer = await start_when_reachable(make, "notifier consumer")
    log.info("site %s: notifier running, delivering into %s", settings.site, maildir)
    try:
        async for record in consumer:
            try:
                event = TicketEventMessage.model_validate_json(record.value or b"")
            except ValidationError as exc:
                log.error("undecodable ticket event at %s/%s: %s", record.partition, record.offset, exc)
            else:
                while True:  # the database may be failing over: retry, never skip
                    try:
                        await handle(pool, event, settings, maildir)
                        break
                    except Exception as exc:  # noqa: BLE001
                        log.warning("notice for event %s not delivered yet: %s", event.event_id, exc)
                        await asyncio.sleep(1)
            await consumer.commit()
    finally:
        await consumer.stop()
        await pool.close()
