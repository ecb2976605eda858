"""Monitoring webhooks: Prometheus Alertmanager (payload version 4) and Grafana unified alerting.

One alert becomes one IntakeDraft. Pure: no I/O, no clock.

The natural key is `fingerprint@startsAt` (UTC): Alertmanager re-sends a firing group every
`repeat_interval`, and both sites may receive the same notification, so every copy of one
firing collapses onto one intake; the resolution of that firing carries the same key and kind
ALERT_RESOLVED, which lets the ticket service close the loop on the ticket the firing opened.
A new firing of the same rule starts at a new time and so opens a new ticket.

The JSON helpers at the bottom are shared with the chat parsers: a body that is not JSON (or
not an object) is malformed (400); a field that is missing or wrong is named (422).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal, TypeVar, overload

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from core.domain.priority import Impact, Urgency
from core.domain.taxonomy import Category, Region
from core.errors import FieldError, InvalidInput
from core.intake.domain.channels.payload import load_json_object, parse_json, validated
from core.intake.domain.schemas import AlertInfo, Channel, IntakeDraft, IntakeKind

ALERTMANAGER_VERSION = "4"

SEVERITY_PRIORITY: dict[str, tuple[Impact, Urgency]] = {
    "critical": (Impact.HIGH, Urgency.HIGH),
    "error": (Impact.HIGH, Urgency.MEDIUM),
    "major": (Impact.HIGH, Urgency.MEDIUM),
    "warning": (Impact.MEDIUM, Urgency.MEDIUM),
    "minor": (Impact.MEDIUM, Urgency.MEDIUM),
}
DEFAULT_PRIORITY = (Impact.LOW, Urgency.LOW)

# Words in an alert's name (or its job) that say which team's queue it belongs in.
CATEGORY_KEYWORDS: dict[Category, tuple[str, ...]] = {
    Category.NETWORK: ("network", "snmp", "interface", "bgp", "link"),
    Category.SERVER: ("node", "cpu", "memory", "disk", "host"),
    Category.DATACENTER: ("ups", "power", "temperature", "cooling", "pdu"),
    Category.CAMERA: ("camera", "nvr"),
    Category.ALARM: ("alarm", "fire"),
}
_KEYWORD_CATEGORY = {word: cat for cat, words in CATEGORY_KEYWORDS.items() for word in words}
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_ID_MAX = 64


class _Lenient(BaseModel):
    """The senders add fields over time; what we do not use is kept, never refused."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _Alert(_Lenient):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: AwareDatetime = Field(alias="startsAt")
    ends_at: AwareDatetime | None = Field(default=None, alias="endsAt")
    generator_url: str | None = Field(default=None, alias="generatorURL")
    fingerprint: str = Field(min_length=1, max_length=200)

    @field_validator("ends_at")
    @classmethod
    def _unset_is_none(cls, value: datetime | None) -> datetime | None:
        """Go's zero time (0001-01-01T00:00:00Z) is how both senders say 'not ended'."""
        return None if value is not None and value.year <= 1 else _representable(value)

    @field_validator("starts_at")
    @classmethod
    def _starts_representable(cls, value: datetime) -> datetime:
        return _representable(value)


@overload
def _representable(value: datetime) -> datetime: ...
@overload
def _representable(value: None) -> None: ...
def _representable(value: datetime | None) -> datetime | None:
    """A time that has a UTC form (0001-01-01T00:00:00+01:00 has none); the window is checked later."""
    if value is None:
        return None
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value.isoformat()} has no UTC equivalent") from None
    return value


class _GrafanaAlert(_Alert):
    dashboard_url: str | None = Field(default=None, alias="dashboardURL")
    panel_url: str | None = Field(default=None, alias="panelURL")
    silence_url: str | None = Field(default=None, alias="silenceURL")
    value_string: str | None = Field(default=None, alias="valueString")


_A = TypeVar("_A", bound=_Alert)


class AlertmanagerPayload(_Lenient):
    version: str
    group_key: str | None = Field(default=None, alias="groupKey")
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts")
    status: Literal["firing", "resolved"]
    receiver: str | None = None
    external_url: str | None = Field(default=None, alias="externalURL")
    alerts: list[_Alert]


class GrafanaPayload(_Lenient):
    receiver: str | None = None
    status: Literal["firing", "resolved"]
    org_id: int | None = Field(default=None, alias="orgId")
    title: str | None = None
    alerts: list[_GrafanaAlert]


def parse_alertmanager(body: bytes) -> list[IntakeDraft]:
    """One draft per distinct alert of an Alertmanager webhook notification."""
    data = load_json_object(body, "Alertmanager")
    version = data.get("version")
    if version != ALERTMANAGER_VERSION:
        raise InvalidInput(
            f"unsupported Alertmanager webhook version {version!r}; expected {ALERTMANAGER_VERSION!r}",
            [FieldError("version", f"expected {ALERTMANAGER_VERSION!r}, got {version!r}")],
        )
    payload = validated(AlertmanagerPayload, data, "Alertmanager")
    return [
        _draft(alert, Channel.ALERTMANAGER, "alertmanager", alert.generator_url, [])
        for alert in _distinct(payload.alerts)
    ]


def parse_grafana(body: bytes) -> list[IntakeDraft]:
    """One draft per distinct alert of a Grafana (unified alerting) webhook notification."""
    payload = parse_json(GrafanaPayload, body, "Grafana")
    drafts = []
    for alert in _distinct(payload.alerts):
        url = alert.dashboard_url or alert.panel_url or alert.generator_url
        extra = [f"value: {value}"] if (value := (alert.value_string or "").strip()) else []
        drafts.append(_draft(alert, Channel.GRAFANA, "grafana", url, extra))
    return drafts


def _distinct(alerts: list[_A]) -> list[_A]:
    """The first of each (fingerprint, startsAt, status): a payload may list an alert twice."""
    seen: set[tuple[str, datetime, str]] = set()
    out = []
    for alert in alerts:
        key = (alert.fingerprint, alert.starts_at, alert.status)
        if key not in seen:
            seen.add(key)
            out.append(alert)
    return out


def _draft(
    alert: _Alert, channel: Channel, source: Literal["alertmanager", "grafana"], url: str | None, extra: list[str]
) -> IntakeDraft:
    labels = alert.labels
    severity = labels.get("severity")
    impact, urgency = SEVERITY_PRIORITY.get((severity or "").strip().casefold(), DEFAULT_PRIORITY)
    firing = alert.status == "firing"
    return IntakeDraft(
        channel=channel,
        kind=IntakeKind.NEW if firing else IntakeKind.ALERT_RESOLVED,
        natural_key=f"{alert.fingerprint}@{alert.starts_at.astimezone(UTC).isoformat()}",
        event_time=alert.starts_at if firing else (alert.ends_at or alert.starts_at),
        customer_id=_label_id(labels, "customer"),
        contract_number=_label_id(labels, "contract"),
        asset_serial=_label_id(labels, "serial"),
        category=category_of(labels),
        region=_enum_label(Region, labels.get("region")),
        impact=impact,
        urgency=urgency,
        subject=_subject(alert)[:500],
        description="\n".join([*_summary_lines(alert), *extra, _labels_line(labels)])[:20_000],
        alert=AlertInfo(
            source=source,
            fingerprint=alert.fingerprint,
            status=alert.status,
            severity=severity,
            starts_at=alert.starts_at,
            ends_at=alert.ends_at,
            labels=labels,
            annotations=alert.annotations,
            url=url or None,
        ),
    )


def _subject(alert: _Alert) -> str:
    summary = alert.annotations.get("summary", "").strip()
    if summary:
        return summary
    name = alert.labels.get("alertname") or f"alert {alert.fingerprint}"
    instance = alert.labels.get("instance")
    return f"{name} on {instance}" if instance else name


def _summary_lines(alert: _Alert) -> list[str]:
    notes = alert.annotations
    text = (notes.get("description") or notes.get("summary") or notes.get("message") or "").strip()
    lines = [text] if text else []
    if notes.get("runbook_url"):
        lines.append(f"runbook: {notes['runbook_url']}")
    return lines


def _labels_line(labels: dict[str, str]) -> str:
    return "labels: " + ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))


def category_of(labels: dict[str, str]) -> Category | None:
    """An explicit category (or team) label wins; else the first keyword in alertname, then job.

    Words are split on case and punctuation ("UPSOnBattery" -> ups, on, battery), so "ups" does
    not match "backups" and "fire" does not match "firewall"; a trailing plural "s" is ignored.
    """
    for key in ("category", "team"):
        explicit = _enum_label(Category, labels.get(key))
        if explicit is not None:
            return explicit
    for source in (labels.get("alertname", ""), labels.get("job", "")):
        for word in (w.lower() for w in _WORD.findall(source)):
            hit = _KEYWORD_CATEGORY.get(word) or _KEYWORD_CATEGORY.get(word.removesuffix("s"))
            if hit is not None:
                return hit
    return None


E = TypeVar("E", Category, Region)


def _enum_label(enum: type[E], value: str | None) -> E | None:
    try:
        return enum(value.strip().casefold()) if value else None
    except ValueError:
        return None


def _label_id(labels: dict[str, str], key: str) -> str | None:
    """An identifier label; one too long to be an id of ours is dropped, not truncated."""
    value = labels.get(key, "").strip()
    return value if value and len(value) <= _ID_MAX else None


# Shared JSON helpers (also used by the chat parsers).
