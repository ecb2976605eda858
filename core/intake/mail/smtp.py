"""Email intake: an SMTP listener (aiosmtpd) at every site.

`250` is our acknowledgement, so it is sent only after Kafka acknowledged the event; when
Kafka cannot, the sender gets `451` (transient) and its MTA retries later, possibly at the
other site (the Message-ID makes that retry idempotent). Unparsable mail gets `550` (permanent).
Relaying policy belongs to the organisation's MTA in front of this listener; the link from it
is encrypted with STARTTLS (required when the settings say so: `530 Must issue a STARTTLS command
first` before MAIL).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from datetime import UTC, datetime

from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import ValidationError

from core.errors import InvalidInput, Overloaded, Unavailable
from core.intake.domain.channels.email import parse_email
from core.intake.domain.channels.payload import invalid_input
from core.intake.service import IntakeService

log = logging.getLogger(__name__)


class IntakeMailHandler:
    def __init__(self, service: IntakeService) -> None:
        self._service = service

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            try:
                draft = parse_email(raw)
            except ValidationError as exc:
                raise invalid_input(exc, "email") from None
            accepted = await self._service.accept(
                [draft], receiver="system", idempotency_key=None, now=datetime.now(UTC)
            )
        except InvalidInput as exc:
            log.info("mail refused", extra={"detail": exc.detail, "peer": str(session.peer)})
            return f"550 5.6.0 {exc.detail}"
        except Overloaded as exc:
            return f"451 4.3.2 {exc.detail}"  # RFC 3463: system not accepting network messages
        except Unavailable as exc:
            return f"451 4.3.0 {exc.detail}"
        code = accepted[0].ticket_code
        return f"250 2.0.0 OK {code}"


def server_tls(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


async def start_smtp(
    service: IntakeService,
    host: str,
    port: int,
    max_bytes: int,
    hostname: str,
    *,
    tls: ssl.SSLContext | None = None,
    require_tls: bool = False,
) -> asyncio.Server:
    handler = IntakeMailHandler(service)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(
            handler,
            data_size_limit=max_bytes,
            hostname=hostname,
            ident="ccdr intake",
            enable_SMTPUTF8=True,
            tls_context=tls,
            require_starttls=require_tls,
        ),
        host=host,
        port=port,
    )
