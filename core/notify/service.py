"""The notifier (a cold-standby component: one site runs it, fenced). Reads `ticket.events.v1`
and sends each notice through the organisation's mail relay (core.notify.mail), or for a chat
customer without an e-mail address on the platform they wrote from (core.notify.chat): staff
notices (core.notify.domain.rules) and the customer's (core.notify.domain.customer).

Each (event, recipient) is recorded in PostgreSQL in the transaction that sends it, so a failover
that re-reads the topic never sends the same notice twice; a crash between the relay's 250 and the
commit can, and the fixed Message-ID makes that one message to the recipient's mail client. A
transient failure (relay away, database failing over) is tried again, never skipped; a permanent
refusal (5xx) is recorded as `refused` and the notifier goes on."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaConsumer
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from pydantic import ValidationError

from core.database import pool_for
from core.domain.status_links import status_link
from core.kafka import METADATA_MAX_AGE_MS, connection_options, start_when_reachable
from core.notify.chat import ChatApis
from core.notify.domain.customer import CustomerView, customer_notices
from core.notify.domain.rules import Notice, TicketEventMessage, notices
from core.notify.mail import Refused, SmtpRelay, compose
from core.settings import ServiceSettings

log = logging.getLogger(__name__)
GROUP = "ccdr-notifier"
CUSTOMER_KINDS = frozenset({"created", "status_changed", "progress_update_due"})


async def _customer_view(conn: AsyncConnection[Any], code: str) -> CustomerView | None:
    row = await (
        await conn.execute(
            """SELECT t.code, t.subject, t.status, t.priority, t.contact->>'email', t.response_due,
                      t.resolution_due, t.root_cause, t.actions_taken, e.data->'chat'
                 FROM tickets t
                 LEFT JOIN ticket_events e ON e.ticket_code = t.code AND e.kind = 'created'
                WHERE t.code = %s""",
            (code,),
        )
    ).fetchone()
    if row is None:
        return None
    fields = ("code", "subject", "status", "priority", "email", "response_due", "resolution_due", "root_cause")
    return CustomerView.model_validate(dict(zip((*fields, "actions_taken", "chat"), row, strict=True)))


async def _notices(
    pool: AsyncConnectionPool[Any], event: TicketEventMessage, settings: ServiceSettings
) -> list[Notice]:
    out = notices(event, settings.failover.duty_manager, settings.failover.servicedesk_manager)
    if event.kind in CUSTOMER_KINDS:
        async with pool.connection() as conn:
            view = await _customer_view(conn, event.ticket_code)
        if view is not None:
            key = settings.customer.status_link_key.get_secret_value()
            link = status_link(settings.public_base_url, key, view.code)
            out += customer_notices(event, view, link, ZoneInfo(settings.customer.timezone))
    return out


async def _over_cap(conn: AsyncConnection[Any], recipient: str, cap: int) -> bool:
    """This customer address was sent `cap` notices in the last hour (the one being recorded aside)."""
    row = await (
        await conn.execute(
            """SELECT count(*) FROM notifications
                WHERE recipient = %s AND outcome = 'sent' AND sent_at > now() - interval '1 hour'""",
            (recipient,),
        )
    ).fetchone()
    return row is not None and row[0] > cap  # the row just inserted for this notice counts too


async def _refused(conn: AsyncConnection[Any], event: TicketEventMessage, notice: Notice, why: str) -> None:
    await conn.execute(
        "UPDATE notifications SET outcome = 'refused', detail = %s WHERE event_id = %s AND recipient = %s",
        (why[:500], event.event_id, notice.recipient),
    )


async def handle(
    pool: AsyncConnectionPool[Any],
    event: TicketEventMessage,
    settings: ServiceSettings,
    relay: SmtpRelay,
    chat: ChatApis,
) -> int:
    """Send what `event` tells; the number of notices sent now (not before, not refused)."""
    sent = 0
    for notice in await _notices(pool, event, settings):
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
            if notice.to_customer and await _over_cap(conn, notice.recipient, settings.mail.max_per_address_per_hour):
                cap = settings.mail.max_per_address_per_hour
                await _refused(conn, event, notice, f"more than {cap} notices to this address in the last hour")
                continue
            to = notice.recipient
            if "@" not in to:  # an agent id: deliver to their e-mail when they have one
                row = await (await conn.execute("SELECT email FROM agents WHERE id = %s", (to,))).fetchone()
                to = row[0] if row and row[0] else to
            try:
                if notice.chat is not None:
                    await chat.send(notice.chat, f"{notice.subject}\n\n{notice.body}")
                else:
                    await asyncio.to_thread(relay.send, compose(notice, settings.mail.sender, to, event.event_id))
            except Refused as exc:
                log.warning("notice %s/%s to %s refused: %s", event.ticket_code, event.kind, to, exc)
                await _refused(conn, event, notice, str(exc))
                continue
            sent += 1
    return sent


async def run(settings: ServiceSettings) -> None:
    relay = SmtpRelay(settings.mail)
    chat = ChatApis(settings.chat_replies)
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
    m = settings.mail
    log.info("site %s: notifier running, sending through %s:%s", settings.site, m.relay_host, m.relay_port)
    try:
        async for record in consumer:
            try:
                event = TicketEventMessage.model_validate_json(record.value or b"")
            except ValidationError as exc:
                log.error("undecodable ticket event at %s/%s: %s", record.partition, record.offset, exc)
            else:
                while True:  # the relay or the database may be away: retry, never skip
                    try:
                        await handle(pool, event, settings, relay, chat)
                        break
                    except Exception as exc:  # noqa: BLE001
                        log.warning("notice for event %s not delivered yet: %s", event.event_id, exc)
                        await asyncio.sleep(m.retry_s)
            await consumer.commit()
    finally:
        await consumer.stop()
        await asyncio.to_thread(relay.close)
        await chat.close()
        await pool.close()
