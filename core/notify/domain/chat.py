"""Replies on the chat platform an incident came from: the request each platform's API takes, and
what its answer means. Pure: no I/O (core.notify.chat sends).

- **Slack** `chat.postMessage` (Web API): `Authorization: Bearer <bot token>`, JSON `{channel,
  text}`. The answer is HTTP 200 with `{"ok": true}` or `{"ok": false, "error": "..."}`; 429 carries
  `Retry-After`.
- **Zalo OA** `POST /v3.0/oa/message/cs` (customer-service message): header `access_token`, JSON
  `{"recipient": {"user_id"}, "message": {"text"}}`; the answer is `{"error": 0, ...}` or a
  negative error code with a message. A text is at most 2,000 characters.

- **Teams** through the Bot Framework connector (the desk's bot, registered in the tenant): `POST
  <service_url>/v3/conversations/{conversation}/activities` with `{"type": "message", "text"}`
  and a bearer token the bot gets from its token endpoint (client credentials). 200/201 is taken;
  401/403 is our credential (tried again); 404 is a conversation gone. The outgoing webhook that
  brings Teams intake answers in the conversation only while its call lasts ("Recorded: <code>").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from core.notify.domain.rules import ChatTarget

REPLYABLE = frozenset({"slack", "zalo", "teams"})
# Answers that are about us (our token, our rate), not about this message: tried again, never
# skipped, until someone fixes the credential.
SLACK_RETRY = frozenset(
    {
        "ratelimited",
        "service_unavailable",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "missing_scope",
    }
)
ZALO_RETRY = frozenset({-216, -124, -32})  # access token invalid, access token expired, rate limit
ZALO_TEXT_MAX = 2000
SLACK_TEXT_MAX = 40_000


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # the platform is away or busy: try again later
    REFUSED = "refused"  # it will never take this one (bad channel, user gone, bad token)


@dataclass(frozen=True)
class ChatRequest:
    path: str  # under the platform's API base URL
    body: dict[str, Any]


def can_reply(target: ChatTarget | None) -> bool:
    if target is None or target.platform not in REPLYABLE:
        return False
    return bool(target.user_id if target.platform == "zalo" else target.conversation)


def chat_request(target: ChatTarget, text: str) -> ChatRequest:
    if target.platform == "slack":
        mention = f"<@{target.user_id}> " if target.user_id else ""
        return ChatRequest(
            "/chat.postMessage", {"channel": target.conversation, "text": (mention + text)[:SLACK_TEXT_MAX]}
        )
    if target.platform == "zalo":
        return ChatRequest(
            "/v3.0/oa/message/cs",
            {"recipient": {"user_id": target.user_id}, "message": {"text": _clip(text, ZALO_TEXT_MAX)}},
        )
    if target.platform == "teams":
        conversation = quote(target.conversation or "", safe="")
        return ChatRequest(f"/v3/conversations/{conversation}/activities", {"type": "message", "text": text})
    raise ValueError(f"no replies on {target.platform}")


def outcome(platform: str, status: int, body: Any) -> tuple[Outcome, str]:
    """What the platform's answer (HTTP status and decoded JSON body, None if not JSON) means."""
    if status == 429 or status >= 500:
        return Outcome.RETRY, f"HTTP {status}"
    if platform == "teams":
        if status in (200, 201):
            return Outcome.SENT, ""
        if status in (401, 403):
            return Outcome.RETRY, f"HTTP {status}: the bot's credential"
        return Outcome.REFUSED, f"HTTP {status}: {str(body)[:200]}"
    if status != 200 or not isinstance(body, dict):
        return Outcome.REFUSED, f"HTTP {status}: {str(body)[:200]}"
    if platform == "slack":
        if body.get("ok") is True:
            return Outcome.SENT, ""
        error = str(body.get("error", "unknown"))
        return (Outcome.RETRY if error in SLACK_RETRY else Outcome.REFUSED), error
    error_code = body.get("error")
    if error_code == 0:
        return Outcome.SENT, ""
    detail = f"{error_code}: {body.get('message', '')}"[:200]
    return (Outcome.RETRY if error_code in ZALO_RETRY else Outcome.REFUSED), detail


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
