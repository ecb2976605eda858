"""Chat webhooks: Slack Events API, Microsoft Teams outgoing webhooks, Zalo Official Account.

Pure: no I/O, and no clock (the caller passes `now`). Each platform signs its calls differently,
and a signature is always checked over the raw body bytes, before anything is parsed:

- Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:{timestamp}:{body}")>`
  with `X-Slack-Request-Timestamp`; a timestamp more than `tolerance_s` away from now is a replay.
- Teams: `Authorization: HMAC <base64 HMAC-SHA256(key=base64decode(secret), body)>`.
- Zalo OA: `X-ZEvent-Signature: mac=<hex SHA-256(app_id + body + timestamp + OA secret key)>`,
  a plain SHA-256 digest of the concatenation (not an HMAC), where `timestamp` is the payload's
  own "timestamp" field (epoch milliseconds, as a string) and the secret is the OA secret key,
  not the app secret. Sources: Zalo's OA webhook documentation as summarised at
  hainh.me/zalo-api-php-webhook-callback-official-account.html (the four parts, in that order)
  and chatwoot's `Webhooks::ZaloEventsJob#validate_signature` (the `mac=` prefix). The payload
  carries no nonce and the formula no freshness check, so replays are caught by the natural key.

A ticket code written in a message (INC-XXXX-XXXX-XXXX) makes it a REPLY to that ticket.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from core.errors import BadSignature
from core.intake.domain.channels.email import html_to_text
from core.intake.domain.channels.payload import load_json_object, parse_json, validated
from core.intake.domain.codes import codes_in
from core.intake.domain.schemas import Attachment, Channel, ChatInfo, Contact, IntakeDraft, IntakeKind

SUBJECT_MAX = 120
DESCRIPTION_MAX = 20_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
_SLACK_MESSAGE_EVENTS = frozenset({"message", "app_mention"})
_SLACK_HUMAN_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})  # not edits, joins, bots
_SLACK_LEADING_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>\s*")
_TEAMS_LEADING_MENTION = re.compile(r"^\s*<at>.*?</at>\s*", re.IGNORECASE | re.DOTALL)
_ZALO_MESSAGE_EVENTS = frozenset({"user_send_text", "user_send_image", "user_send_file"})
_CONTENT_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "pdf": "application/pdf"}


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class SlackChallenge(BaseModel):
    """Slack's url_verification handshake: answer with the challenge, record nothing."""

    model_config = ConfigDict(frozen=True)

    challenge: str


class _Typed(_Lenient):
    type: str


class _SlackEvent(_Lenient):
    type: str
    user: str | None = None
    text: str = ""
    channel: str | None = None
    ts: str | None = None
    client_msg_id: str | None = None
    bot_id: str | None = None
    subtype: str | None = None


class _SlackCallback(_Lenient):
    event_id: str = Field(min_length=1, max_length=1000)
    event_time: int = Field(ge=0, le=_MAX_EPOCH_MS // 1000)
    event: _SlackEvent


class _TeamsUser(_Lenient):
    id: str = Field(min_length=1)
    name: str | None = None
    aad_object_id: str | None = Field(default=None, alias="aadObjectId")


class _TeamsConversation(_Lenient):
    id: str = Field(min_length=1)


class _TeamsActivity(_Lenient):
    type: str
    id: str = Field(min_length=1, max_length=1000)
    timestamp: AwareDatetime | None = None
    text: str = ""
    from_: _TeamsUser = Field(alias="from")
    conversation: _TeamsConversation


class _ZaloEnvelope(_Lenient):
    event_name: str


class _ZaloId(_Lenient):
    id: str = Field(min_length=1)


class _ZaloFile(_Lenient):
    url: str | None = None
    name: str | None = None
    size: int | None = Field(default=None, ge=0)


class _ZaloAttachment(_Lenient):
    type: str | None = None
    payload: _ZaloFile = Field(default_factory=_ZaloFile)


class _ZaloMessage(_Lenient):
    msg_id: str = Field(min_length=1, max_length=1000)
    text: str = ""
    attachments: list[_ZaloAttachment] = Field(default_factory=list)


class _ZaloEvent(_Lenient):
    event_name: str
    timestamp: int = Field(ge=0, le=_MAX_EPOCH_MS)  # epoch ms; Zalo sends it as a string
    sender: _ZaloId
    recipient: _ZaloId
    message: _ZaloMessage


# Signatures


def slack_signature(signing_secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Slack-Signature` value Slack computes for this body and timestamp."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def verify_slack(
    signing_secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float, tolerance_s: int = 300
) -> None:
    """Refuse (BadSignature) unless Slack signed this body within `tolerance_s` of `now`."""
    if not timestamp or not signature:
        raise BadSignature("missing X-Slack-Request-Timestamp or X-Slack-Signature header")
    try:
        sent = int(timestamp)
    except ValueError:
        raise BadSignature("X-Slack-Request-Timestamp is not epoch seconds") from None
    if abs(now - sent) > tolerance_s:
        raise BadSignature(f"stale Slack request: its timestamp is more than {tolerance_s} s from now (replay?)")
    if not _same(signature, slack_signature(signing_secret, timestamp, body)):
        raise BadSignature("X-Slack-Signature does not match the body (check the signing secret)")


def teams_signature(secret_b64: str, body: bytes) -> str:
    """The `Authorization` value Teams sends: HMAC-SHA256 keyed by the decoded shared secret."""
    try:
        key = base64.b64decode(secret_b64, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the Teams HMAC secret is not base64; paste it exactly as Teams showed it") from None
    return "HMAC " + base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def verify_teams(secret_b64: str, authorization: str | None, body: bytes) -> None:
    """Refuse (BadSignature) unless the outgoing webhook's shared secret signed this body."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.upper() != "HMAC" or not token.strip():
        raise BadSignature("missing Authorization header of the form 'HMAC <base64 signature>'")
    _, _, expected = teams_signature(secret_b64, body).partition(" ")
    if not _same(token.strip(), expected):
        raise BadSignature("the Teams HMAC does not match the body (check the outgoing webhook's secret)")


def zalo_signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """The `X-ZEvent-Signature` value Zalo sends (see the module docstring for the formula)."""
    digest = hashlib.sha256(app_id.encode() + body + timestamp.encode() + oa_secret_key.encode())
    return "mac=" + digest.hexdigest()


def verify_zalo(app_id: str, oa_secret_key: str, signature_header: str | None, body: bytes) -> None:
    """Refuse (BadSignature) unless Zalo signed this body for our app with our OA's secret."""
    if not signature_header or not signature_header.strip():
        raise BadSignature("missing X-ZEvent-Signature header")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("timestamp"), str | int):
        raise BadSignature("the body has no timestamp field, so its Zalo signature cannot be checked")
    if str(data.get("app_id", "")) != app_id:
        raise BadSignature("the event was sent for another Zalo app than the configured one")
    given = signature_header.strip()
    given = given[4:] if given[:4].lower() == "mac=" else given  # the documented form has the prefix
    expected = zalo_signature(app_id, body, str(data["timestamp"]), oa_secret_key).removeprefix("mac=")
    if not _same(given.lower(), expected):
        raise BadSignature("X-ZEvent-Signature does not match the body (check the OA secret key)")


def check_fresh(platform: str, sent_at: float | None, now: float, tolerance_s: int) -> None:
    """Refuse (BadSignature) a signed event sent more than `tolerance_s` from now: its signature is
    good, so only its age tells a replay of a captured request. `sent_at` None: the platform did
    not say when (nothing to check)."""
    if sent_at is not None and abs(now - sent_at) > tolerance_s:
        raise BadSignature(f"stale {platform} event: sent more than {tolerance_s} s from now (replay?)")


def zalo_sent_at(body: bytes) -> float | None:
    """The signed body's own `timestamp` (epoch ms), in seconds; verify_zalo has required it."""
    try:
        data = json.loads(body)
        return int(str(data["timestamp"])) / 1000
    except (ValueError, RecursionError, KeyError, TypeError):
        return None


def teams_sent_at(body: bytes) -> float | None:
    """The signed activity's `timestamp` (ISO 8601), in seconds; None when it has none."""
    try:
        data = json.loads(body)
        when = datetime.fromisoformat(str(data["timestamp"]).replace("Z", "+00:00"))
    except (ValueError, RecursionError, KeyError, TypeError):
        return None
    return when.timestamp() if when.tzinfo is not None else None


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison; a header with non-ASCII characters simply does not match."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


# Parsers


def parse_slack(body: bytes) -> SlackChallenge | list[IntakeDraft]:
    """The handshake, or the draft of a person's message; [] for anything else Slack sends."""
    data = load_json_object(body, "Slack")
    kind = validated(_Typed, data, "Slack").type
    if kind == "url_verification":
        return validated(SlackChallenge, data, "Slack")
    if kind != "event_callback":
        return []
    callback = validated(_SlackCallback, data, "Slack")
    event = callback.event
    if event.type not in _SLACK_MESSAGE_EVENTS or event.bot_id or event.subtype not in _SLACK_HUMAN_SUBTYPES:
        return []
    text = _SLACK_LEADING_MENTION.sub("", event.text, count=1)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()
    return [
        _chat_draft(
            Channel.SLACK,
            natural_key=callback.event_id,
            text=text,
            when=_EPOCH + timedelta(seconds=callback.event_time),
            contact=Contact(handle=_clip(event.user)),
            chat=ChatInfo(
                platform="slack",
                conversation=event.channel,
                message_id=event.client_msg_id or event.ts,
                user_id=event.user,
            ),
        )
    ]


def parse_teams(body: bytes) -> list[IntakeDraft]:
    """The draft of a message addressed to the outgoing webhook; [] for other activities."""
    activity = parse_json(_TeamsActivity, body, "Teams")
    if activity.type != "message":
        return []
    text = html_to_text(_TEAMS_LEADING_MENTION.sub("", activity.text, count=1))
    user = activity.from_
    who = user.aad_object_id or user.id
    return [
        _chat_draft(
            Channel.TEAMS,
            natural_key=activity.id,
            text=text,
            when=activity.timestamp,
            contact=Contact(name=_clip(user.name), handle=_clip(who)),
            chat=ChatInfo(platform="teams", conversation=activity.conversation.id, message_id=activity.id, user_id=who),
        )
    ]


def parse_zalo(body: bytes) -> list[IntakeDraft]:
    """The draft of a text, image or file a user sent the OA; [] for follows, reads and the rest."""
    data = load_json_object(body, "Zalo")
    if validated(_ZaloEnvelope, data, "Zalo").event_name not in _ZALO_MESSAGE_EVENTS:
        return []
    event = validated(_ZaloEvent, data, "Zalo")
    message = event.message
    return [
        _chat_draft(
            Channel.ZALO,
            natural_key=message.msg_id,
            text=message.text.strip(),
            when=_EPOCH + timedelta(milliseconds=event.timestamp),
            contact=Contact(handle=_clip(event.sender.id)),
            chat=ChatInfo(
                platform="zalo", conversation=event.recipient.id, message_id=message.msg_id, user_id=event.sender.id
            ),
            attachments=[_zalo_attachment(a, i) for i, a in enumerate(message.attachments, start=1)],
        )
    ]


def _zalo_attachment(attachment: _ZaloAttachment, index: int) -> Attachment:
    """Zalo sends links, not bytes: name, size and url when it gives them, a type from the name."""
    meta = attachment.payload
    name = meta.name or (meta.url or "").split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    filename = name or f"zalo-{attachment.type or 'file'}-{index}"
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return Attachment(
        filename=filename[:255],
        content_type=_CONTENT_TYPES.get(extension, "application/octet-stream"),
        size_bytes=meta.size or 0,
        url=meta.url if meta.url and len(meta.url) <= 2000 else None,
    )


def _chat_draft(
    channel: Channel,
    *,
    natural_key: str,
    text: str,
    when: datetime | None,
    contact: Contact,
    chat: ChatInfo,
    attachments: list[Attachment] | None = None,
) -> IntakeDraft:
    """A chat message as a draft: a ticket code in the text makes it a reply to that ticket."""
    codes = tuple(codes_in(text))
    files = tuple(attachments or ())
    return IntakeDraft(
        channel=channel,
        kind=IntakeKind.REPLY if codes else IntakeKind.NEW,
        natural_key=natural_key,
        reply_to=codes,
        event_time=when,
        contact=contact,
        subject=_subject(text, files),
        description=text[:DESCRIPTION_MAX],
        attachments=files,
        chat=chat,
    )


def _subject(text: str, files: tuple[Attachment, ...]) -> str:
    """The first non-empty line; a message that is only files is named after them."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not first and files:
        first = "sent " + ", ".join(f.filename for f in files)
    return first[:SUBJECT_MAX]


def _clip(value: str | None, limit: int = 200) -> str | None:
    return value[:limit] if value else None
