"""HTTP intake: one POST route per channel, each reading the raw body (signatures are over bytes).

Order of checks, each of which changes nothing when it fails: channel known (404), body size
(413), content type (415), signature or token (401), parse and validate (400/422), then the
Kafka acknowledgement (503 with Retry-After) and only then 202.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from core.agents.domain.model import Permission, allowed
from core.agents.sessions import SessionCheck, bearer_token
from core.domain.status_links import status_link
from core.errors import BadSignature, Forbidden, InvalidInput, NotFound, PayloadTooLarge, UnsupportedMediaType
from core.intake.domain.channels import alerts, chat
from core.intake.domain.channels.payload import invalid_input, parse_json
from core.intake.domain.channels.portal import (
    AGENT_CHANNELS,
    JSON_CHANNELS,
    AgentEnteredIntake,
    PortalIntake,
    agent_draft,
    portal_draft,
)
from core.intake.domain.schemas import Channel, IntakeDraft, IntakeKind
from core.intake.service import Accepted, IntakeService
from core.settings import ServiceSettings

IDEMPOTENCY_KEY_MAX = 255


@dataclass
class Parsed:
    drafts: list[IntakeDraft]
    receiver: str = "system"
    immediate: Response | None = None  # a protocol answer that needs no intake (Slack's challenge)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is {declared} bytes; at most {limit} are accepted")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"the body exceeds {limit} bytes")
    return bytes(body)


def require_json(request: Request) -> None:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(f"expected application/json, got {media or 'no Content-Type'}")


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    key = key.strip().strip('"')
    if not key or len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise InvalidInput(
            f"Idempotency-Key must be 1..{IDEMPOTENCY_KEY_MAX} printable characters",
            [],
            malformed=True,
        )
    return key


def check_bearer(expected: str, authorization: str | None) -> None:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise BadSignature("missing or wrong bearer token (set it in the webhook's http_config)")


async def parse_drafts(
    handler: Callable[[Channel, Request, bytes], Awaitable[Parsed]], channel: Channel, request: Request, body: bytes
) -> Parsed:
    """The channel's parse; a draft it built that breaks the event model is the sender's bad input."""
    try:
        return await handler(channel, request, body)
    except ValidationError as exc:
        raise invalid_input(exc, channel.value) from None


def build_router(service: IntakeService, settings: ServiceSettings, agents: SessionCheck) -> APIRouter:
    router = APIRouter()
    limits = settings.intake
    secrets = settings.channels

    async def json_form(channel: Channel, request: Request, body: bytes) -> Parsed:
        require_json(request)
        if channel in AGENT_CHANNELS:
            # Entered by an agent on a call or at the desk: who that is comes from the agent's
            # session, never from the form (anyone could name anyone there).
            session = agents.session(bearer_token(request.headers.get("authorization")))
            if not allowed(session.agent.role, Permission.WORK_TICKETS):
                raise Forbidden(f"a {session.agent.role} does not take calls")
            form = parse_json(AgentEnteredIntake, body, channel.value)
            if form.agent_id is not None and form.agent_id != session.agent.id:
                raise Forbidden(f"agent_id {form.agent_id!r} is not the signed-in agent ({session.agent.id})")
            return Parsed([agent_draft(channel, form, session.agent.id)], receiver=f"agent:{session.agent.id}")
        return Parsed([portal_draft(channel, parse_json(PortalIntake, body, channel.value))])

    async def alert_webhook(channel: Channel, request: Request, body: bytes) -> Parsed:
        check_bearer(secrets.alert_token.get_secret_value(), request.headers.get("authorization"))
        require_json(request)
        parse = alerts.parse_alertmanager if channel is Channel.ALERTMANAGER else alerts.parse_grafana
        return Parsed(parse(body))

    async def slack(channel: Channel, request: Request, body: bytes) -> Parsed:
        chat.verify_slack(
            secrets.slack_signing_secret.get_secret_value(),
            request.headers.get("x-slack-request-timestamp"),
            request.headers.get("x-slack-signature"),
            body,
            time.time(),
            limits.signature_tolerance_s,
        )
        require_json(request)
        outcome = chat.parse_slack(body)
        if isinstance(outcome, chat.SlackChallenge):
            return Parsed([], immediate=JSONResponse({"challenge": outcome.challenge}))
        return Parsed(outcome)

    async def teams(channel: Channel, request: Request, body: bytes) -> Parsed:
        chat.verify_teams(secrets.teams_hmac_secret.get_secret_value(), request.headers.get("authorization"), body)
        chat.check_fresh("Teams", chat.teams_sent_at(body), time.time(), limits.signature_tolerance_s)
        require_json(request)
        return Parsed(chat.parse_teams(body))

    async def zalo(channel: Channel, request: Request, body: bytes) -> Parsed:
        chat.verify_zalo(
            secrets.zalo_app_id,
            secrets.zalo_oa_secret_key.get_secret_value(),
            request.headers.get("x-zevent-signature"),
            body,
        )
        chat.check_fresh("Zalo", chat.zalo_sent_at(body), time.time(), limits.signature_tolerance_s)
        require_json(request)
        return Parsed(chat.parse_zalo(body))

    handlers: dict[Channel, Callable[[Channel, Request, bytes], Awaitable[Parsed]]] = {
        **dict.fromkeys(JSON_CHANNELS | AGENT_CHANNELS, json_form),
        Channel.ALERTMANAGER: alert_webhook,
        Channel.GRAFANA: alert_webhook,
        Channel.SLACK: slack,
        Channel.TEAMS: teams,
        Channel.ZALO: zalo,
    }

    @router.post("/v1/intake/{channel}", status_code=202)
    async def intake(channel: str, request: Request) -> Response:
        """Accept an incident on one channel; 202 once Kafka has acknowledged it."""
        known = {c.value: c for c in handlers}
        if channel not in known:
            hint = " (email arrives over SMTP)" if channel == Channel.EMAIL.value else ""
            raise NotFound(f"unknown channel {channel!r}{hint}; known: {', '.join(sorted(known))}")
        ch = known[channel]
        service.check_door(ch)
        key = idempotency_key(request)
        body = await read_body(request, limits.max_body_bytes)
        parsed = await parse_drafts(handlers[ch], ch, request, body)
        if parsed.immediate is not None:
            return parsed.immediate
        accepted = await service.accept(
            parsed.drafts, receiver=parsed.receiver, idempotency_key=key, now=datetime.now(UTC)
        )
        return respond(ch, accepted, settings.public_base_url, settings.customer.status_link_key.get_secret_value())

    return router


def respond(channel: Channel, accepted: list[Accepted], base_url: str, link_key: str) -> Response:
    """`status_url` is the ticket API's (agents); `status_page` the customer's own page, given only
    to whoever opened the ticket: a reply names an existing ticket, and its sender may be anyone."""
    items = [
        {
            "intake_id": str(a.intake_id),
            "ticket_code": a.ticket_code,
            "kind": a.kind.value,
            "status_url": f"{base_url}/v1/tickets/{a.ticket_code}",
            **({"status_page": status_link(base_url, link_key, a.ticket_code)} if a.kind is IntakeKind.NEW else {}),
        }
        for a in accepted
    ]
    if channel is Channel.TEAMS:  # Teams shows the webhook's answer in the conversation
        text = ", ".join(a.ticket_code for a in accepted) or "nothing to record"
        return JSONResponse({"type": "message", "text": f"Recorded: {text}"}, status_code=200)
    if channel is Channel.SLACK:  # Slack retries anything but a 200
        return JSONResponse({"ok": True, "intakes": items}, status_code=200)
    body: dict[str, object] = {"intakes": items}
    headers = {}
    if len(items) == 1:
        body |= items[0]
        headers["Location"] = str(items[0]["status_url"])
    return JSONResponse(body, status_code=202, headers=headers)
