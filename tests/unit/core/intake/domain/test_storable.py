"""What intake accepts, the store accepts: NUL, lone surrogates, absurd dates and oversize text
are refused on every channel with a 4xx naming the field, and nothing is published."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.agents.sessions import SessionCheck
from core.intake.domain.schemas import Channel, IntakeDraft
from core.intake.domain.storable import StoreLimits, problems
from tests.fakes import agent_token
from tests.unit.core.intake.conftest import MemoryBus
from tests.unit.infra.test_render import SECRETS

SAMPLES = Path(__file__).resolve().parents[4] / "samples" / "channels"
NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def _draft(**fields: object) -> IntakeDraft:
    # Built without validation: the check must hold for any event, not only what pydantic let through.
    values: dict[str, Any] = {"channel": Channel.PORTAL, "subject": "s", **fields}
    return IntakeDraft.model_construct(**values)


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"description": "a\x00b"}, "description", "NUL"),
        ({"subject": "x\ud800y"}, "subject", "surrogate"),
        ({"contact": {"name": "\udfff"}}, "contact.name", "surrogate"),
        ({"event_time": datetime(9999, 12, 31, tzinfo=UTC)}, "event_time", "outside"),
        ({"event_time": NOW - timedelta(days=4000)}, "event_time", "outside"),
    ],
)
def test_each_unstorable_value_is_named_by_its_field(fields: dict[str, object], field: str, words: str) -> None:
    found = problems(_draft(**fields), NOW, StoreLimits())
    assert [e.field for e in found] == [field]
    assert words in found[0].message


def test_dict_keys_and_oversize_text_are_checked_too() -> None:
    limits = StoreLimits(max_text_chars=1000)
    alert = {
        "source": "alertmanager",
        "fingerprint": "f",
        "status": "firing",
        "starts_at": NOW,
        "labels": {"bad\x00key": "v", "big": "x" * 1001},
    }
    fields = {e.field for e in problems(_draft(alert=alert), NOW, limits)}
    assert fields == {"alert.labels.bad\\x00key (key)", "alert.labels.big"}


def test_a_normalised_event_above_the_kafka_record_limit_is_refused() -> None:
    limits = StoreLimits(max_event_bytes=16 * 1024)
    alert = {"source": "grafana", "fingerprint": "f", "status": "firing", "starts_at": NOW}
    labels = {f"l{i}": "v" * 100 for i in range(200)}
    found = problems(_draft(alert={**alert, "labels": labels}), NOW, limits)
    assert [e.field for e in found] == ["(body)"]


def test_an_ordinary_intake_has_no_problem() -> None:
    draft = _draft(description="Mất mạng tầng 3 — 🚨", event_time=NOW - timedelta(hours=1))
    assert problems(draft, NOW, StoreLimits()) == []


def _alert_body(**change: object) -> bytes:
    body = json.loads((SAMPLES / "alertmanager-firing.json").read_text())
    body["alerts"][0].update(change)
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("url", "body", "headers"),
    [
        ("/v1/intake/portal", b'{"subject": "s", "description": "a\\u0000b"}', {}),
        ("/v1/intake/portal", b'{"subject": "s\\ud800"}', {}),
        ("/v1/intake/mobile", b'{"subject": "s", "event_time": "9999-12-31T23:59:59-01:00"}', {}),
        ("/v1/intake/hotline", b'{"agent_id": "an.nguyen", "subject": "\\u0000"}', {"agent": True}),
        ("/v1/intake/alertmanager", _alert_body(startsAt="0001-01-01T00:00:00+01:00"), {"alert": True}),
        ("/v1/intake/alertmanager", _alert_body(startsAt="1990-01-01T00:00:00Z"), {"alert": True}),
        ("/v1/intake/alertmanager", _alert_body(labels={"alertname": "x\ud800"}), {"alert": True}),
    ],
)
def test_every_channel_refuses_what_the_store_cannot_keep(
    client: TestClient, bus: MemoryBus, sessions: SessionCheck, url: str, body: bytes, headers: dict[str, object]
) -> None:
    sent = {"Content-Type": "application/json"}
    if headers.get("alert"):
        sent["Authorization"] = f"Bearer {SECRETS.alert_token}"
    if headers.get("agent"):
        sent["Authorization"] = f"Bearer {agent_token(sessions)}"
    r = client.post(url, content=body, headers=sent)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"], r.json()
    assert bus.events == []
