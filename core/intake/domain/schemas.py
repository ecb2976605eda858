"""The versioned intake event every channel is normalised into. Pure: no I/O.

An `IntakeEvent` is what intake produces to Kafka (`intake.v1`) and the ticket service applies.
Version 1; a change that is not backwards compatible adds `IntakeEventV2` and bumps
`schema_version`, and the ticket service keeps reading both until old events have aged out.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

from core.domain.priority import Impact, Urgency
from core.domain.taxonomy import Category, Region

SCHEMA_VERSION: Final = 1


class Channel(StrEnum):
    PORTAL = "portal"
    MOBILE = "mobile"
    CHATBOT = "chatbot"
    EMAIL = "email"
    ALERTMANAGER = "alertmanager"
    GRAFANA = "grafana"
    SLACK = "slack"
    TEAMS = "teams"
    ZALO = "zalo"
    HOTLINE = "hotline"
    WALK_IN = "walk_in"


# The platform signs the whole body, so an intake's natural key (Slack's event_id, the Teams activity
# id, Zalo's msg_id) is covered by the signature, while an Idempotency-Key header is not: a captured
# request replayed with a new header must still be the same intake.
SIGNED_CHANNELS = frozenset({Channel.SLACK, Channel.TEAMS, Channel.ZALO})


class IntakeKind(StrEnum):
    NEW = "new"  # opens a ticket
    REPLY = "reply"  # appends to an existing ticket (an email reply); opens one if none matches
    ALERT_RESOLVED = "alert_resolved"  # the alert behind a ticket cleared


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Contact(_Frozen):
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    email: EmailStr | None = None
    handle: str | None = Field(default=None, max_length=200)  # a chat user id (Slack, Teams, Zalo)


class Attachment(_Frozen):
    """Metadata only: the intake path never stores file bodies (they go to object storage)."""

    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(default="application/octet-stream", max_length=255)
    size_bytes: int = Field(ge=0)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    url: str | None = Field(default=None, max_length=2000)


class AlertInfo(_Frozen):
    source: Literal["alertmanager", "grafana"]
    fingerprint: str = Field(min_length=1, max_length=200)
    status: Literal["firing", "resolved"]
    severity: str | None = None
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    url: str | None = None


class EmailInfo(_Frozen):
    message_id: str
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    sender: str
    recipients: tuple[str, ...] = ()


class CallInfo(_Frozen):
    caller_number: str | None = None
    call_id: str | None = None
    agent_id: str


class ChatInfo(_Frozen):
    platform: Literal["slack", "teams", "zalo"]
    conversation: str | None = None  # channel / conversation / OA id
    message_id: str | None = None
    user_id: str | None = None


class IntakeDraft(_Frozen):
    """What a channel parser extracts; intake adds identity and receipt to make an IntakeEvent."""

    channel: Channel
    kind: IntakeKind = IntakeKind.NEW
    natural_key: str | None = Field(default=None, max_length=1000)  # the channel's own dedup key
    reply_to: tuple[str, ...] = ()  # ticket codes this may append to, best first
    event_time: AwareDatetime | None = None
    customer_id: str | None = Field(default=None, max_length=64)
    contact: Contact = Contact()
    contract_number: str | None = Field(default=None, max_length=64)
    asset_serial: str | None = Field(default=None, max_length=64)
    category: Category | None = None
    region: Region | None = None
    location: str | None = Field(default=None, max_length=300)
    impact: Impact | None = None
    urgency: Urgency | None = None
    subject: str = Field(default="", max_length=500)
    description: str = Field(default="", max_length=20_000)
    attachments: tuple[Attachment, ...] = ()
    alert: AlertInfo | None = None
    email: EmailInfo | None = None
    call: CallInfo | None = None
    chat: ChatInfo | None = None


class IntakeEvent(IntakeDraft):
    """One accepted intake, as produced to Kafka. `ticket_code` is the code a new ticket gets."""

    schema_version: Literal[1] = SCHEMA_VERSION
    intake_id: UUID
    ticket_code: str
    event_time: AwareDatetime
    received_at: AwareDatetime
    received_site: str
    receiver: str  # "system" or "agent:<id>"

    @property
    def partition_key(self) -> str:
        """Kafka key: every event about one ticket lands on one partition, in order, while its lane is
        healthy (core.intake.kafka.routing)."""
        return self.reply_to[0] if self.reply_to else self.ticket_code


def received(
    draft: IntakeDraft,
    *,
    intake_id: UUID,
    ticket_code: str,
    received_at: datetime,
    site: str,
    receiver: str,
) -> IntakeEvent:
    return IntakeEvent(
        **draft.model_dump(exclude={"event_time"}),
        event_time=draft.event_time or received_at,
        intake_id=intake_id,
        ticket_code=ticket_code,
        received_at=received_at,
        received_site=site,
        receiver=receiver,
    )
