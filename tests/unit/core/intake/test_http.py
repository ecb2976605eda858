"""The intake HTTP layer on an in-memory bus: 202 only after the bus acknowledged, and each
problem response (400/401/404/413/415/422/503) publishes nothing."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from core.domain.status_links import tag_matches
from core.intake.domain.schemas import Channel, IntakeKind
from core.intake.http.router import respond
from core.intake.service import Accepted
from tests.unit.core.intake.conftest import MemoryBus

FORM = {"contact": {"phone": "0912 000 000"}, "subject": "Mất mạng"}


def test_accepted_after_the_bus_acknowledged(client: TestClient, bus: MemoryBus) -> None:
    r = client.post("/v1/intake/portal", json=FORM, headers={"Idempotency-Key": "k-1"})
    assert r.status_code == 202
    assert [e.ticket_code for e in bus.events] == [r.json()["ticket_code"]]
    assert bus.events[0].received_site == "a"
    again = client.post("/v1/intake/portal", json=FORM, headers={"Idempotency-Key": "k-1"})
    assert again.json()["ticket_code"] == r.json()["ticket_code"]


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"url": "/v1/intake/fax", "json": FORM}, 404, "not-found"),
        ({"content": b"x", "headers": {"Content-Type": "text/plain"}}, 415, "unsupported-media-type"),
        ({"content": b"{", "headers": {"Content-Type": "application/json"}}, 400, "malformed-request"),
        ({"json": {"contact": {"phone": "1"}}}, 422, "invalid-input"),
        ({"json": {**FORM, "impact": "catastrophic"}}, 422, "invalid-input"),
        ({"json": {**FORM, "description": "x" * 2_000_000}}, 413, "payload-too-large"),
        ({"url": "/v1/intake/alertmanager", "json": {}}, 401, "bad-signature"),
        ({"url": "/v1/intake/slack", "json": {}}, 401, "bad-signature"),
    ],
)
def test_problem_responses_publish_nothing(
    client: TestClient, bus: MemoryBus, kwargs: dict, status: int, code: str
) -> None:
    url = kwargs.pop("url", "/v1/intake/portal")
    r = client.post(url, **kwargs)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == f"https://ccdr.dev/problems/{code}" and body["status"] == status
    assert body["instance"] == url
    assert bus.events == []


def test_field_errors_name_the_field(client: TestClient) -> None:
    r = client.post("/v1/intake/portal", json={"contact": {"email": "nope"}, "subject": "x"})
    assert [e["field"] for e in r.json()["errors"]] == ["contact.email"]


def test_unavailable_bus_is_503_with_retry_after(client: TestClient, bus: MemoryBus) -> None:
    bus.down = True
    r = client.post("/v1/intake/portal", json=FORM)
    assert r.status_code == 503 and r.headers["retry-after"] == "3"
    assert client.get("/readyz").status_code == 503
    assert bus.events == []


def test_metrics_are_labelled_by_route_template(client: TestClient) -> None:
    client.post("/v1/intake/portal", json=FORM)
    text = client.get("/metrics").text
    assert 'route="/v1/intake/{channel}"' in text
    assert "ccdr_intake_events_total" in text


def test_only_whoever_opened_a_ticket_gets_its_status_page_not_whoever_replied_to_it() -> None:
    key = "status-link-key-for-unit-tests-0123456789"
    opened = Accepted(uuid4(), "INC-AAAA-BBBB-CCCC", IntakeKind.NEW)
    replied = Accepted(uuid4(), "INC-DDDD-EEEE-FFFF", IntakeKind.REPLY)
    response = respond(Channel.PORTAL, [opened, replied], "https://desk", key)
    assert isinstance(response.body, bytes)
    [new, reply] = json.loads(response.body)["intakes"]
    page = new["status_page"]
    assert page.startswith("https://desk/status/INC-AAAA-BBBB-CCCC?k=")
    assert tag_matches(key, "INC-AAAA-BBBB-CCCC", page.rpartition("=")[2])
    assert "status_page" not in reply  # anyone can write a ticket code in a subject
