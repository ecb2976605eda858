"""The ticket API: state machine (409 lists what is allowed), work log, resolution, CSAT, the SLA
pause while pending on the customer, filters, search and pagination."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.integration.core.conftest import Front


def _new_ticket(front: Front, subject: str, **extra: Any) -> dict[str, Any]:
    body = {"contact": {"phone": "+84 28 3822 0000"}, "subject": subject, "contract_number": "HD-2025-0003", **extra}
    r = front.post("portal", body)
    assert r.status_code == 202, r.text
    return front.ticket(r.json()["ticket_code"])


def _move(front: Front, code: str, to: str) -> Any:
    return front.http.post(f"{front.tickets}/v1/tickets/{code}/transitions", json={"to": to, "actor": "l2-hung"})


def test_lifecycle_with_409_worklog_pause_resolution_and_csat(front: Front, unique: Callable[[str], str]) -> None:
    ticket = _new_ticket(front, unique("UPS phòng máy kêu bíp"), category="datacenter", impact="medium", urgency="high")
    code = ticket["code"]
    assert ticket["sla"]["calendar"] == "24x7"

    r = _move(front, code, "closed")
    assert r.status_code == 409
    assert r.json()["allowed"] == ["acknowledged", "resolved"]
    assert "allowed: acknowledged, resolved" in r.json()["detail"]

    acked = _move(front, code, "acknowledged").json()
    assert acked["sla"]["response"]["done_at"] is not None
    r = front.http.post(
        f"{front.tickets}/v1/tickets/{code}/worklog",
        json={"actor": "l2-hung", "note": "Đã gọi khách hàng, kiểm tra từ xa", "kind": "remote", "minutes_spent": 20},
    )
    assert r.status_code == 201, r.text
    paused = _move(front, code, "pending_customer").json()
    assert paused["sla"]["paused"] is True and paused["sla"]["resolution"]["due"] is None
    assert paused["sla"]["state"] == "paused"
    resumed = _move(front, code, "in_progress").json()
    assert resumed["sla"]["resolution"]["due"] > ticket["sla"]["resolution"]["due"]  # pushed back by the pause
    onsite = _move(front, code, "dispatched_onsite")
    assert onsite.status_code == 200

    r = front.http.post(f"{front.tickets}/v1/tickets/{code}/csat", json={"score": 5})
    assert r.status_code == 409  # not before resolution
    r = front.http.post(
        f"{front.tickets}/v1/tickets/{code}/resolution",
        json={"actor": "l2-hung", "root_cause": "Ắc quy UPS chai", "actions_taken": "Thay 4 ắc quy, kiểm tra tải"},
    )
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    assert r.json()["root_cause"] == "Ắc quy UPS chai"
    r = front.http.post(f"{front.tickets}/v1/tickets/{code}/csat", json={"score": 6})
    assert r.status_code == 422
    r = front.http.post(f"{front.tickets}/v1/tickets/{code}/csat", json={"score": 5, "comment": "Nhanh"})
    assert r.json()["csat_score"] == 5
    closed = _move(front, code, "closed").json()
    assert closed["status"] == "closed" and closed["allowed_transitions"] == ["in_progress"]

    events = front.events(code)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    kinds = [e["kind"] for e in events]
    assert kinds == [
        "created",
        "status_changed",
        "worklog",
        "status_changed",
        "status_changed",
        "status_changed",
        "status_changed",
        "csat",
        "status_changed",
    ]
    assert closed["version"] == len(events)


def test_events_are_immutable_in_the_database(front: Front, unique: Callable[[str], str]) -> None:
    code = _new_ticket(front, unique("immutable"))["code"]
    with pytest.raises(psycopg.errors.RaiseException, match="immutable"):
        front.sql("UPDATE ticket_events SET actor = 'mallory' WHERE ticket_code = %s", code)
    with pytest.raises(psycopg.errors.RaiseException, match="immutable"):
        front.sql("DELETE FROM ticket_events WHERE ticket_code = %s", code)


def test_filters_search_and_pagination(front: Front, unique: Callable[[str], str]) -> None:
    word = unique("zbx").replace("-", "")
    codes = {
        _new_ticket(front, f"{word} đầu ghi camera hỏng {i}", category="camera", region="central")["code"]
        for i in range(3)
    }
    r = front.http.get(f"{front.tickets}/v1/tickets", params={"q": word, "limit": 2})
    page = r.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = front.http.get(f"{front.tickets}/v1/tickets", params={"q": word, "limit": 2, "cursor": page["next_cursor"]})
    found = {t["code"] for t in page["items"]} | {t["code"] for t in rest.json()["items"]}
    assert found == codes and rest.json()["next_cursor"] is None

    r = front.http.get(
        f"{front.tickets}/v1/tickets",
        params={"q": word, "team": "camera", "region": "central", "status": "new", "sla_state": "on_track"},
    )
    assert {t["code"] for t in r.json()["items"]} == codes
    for other in ({"team": "network"}, {"region": "north"}, {"status": "closed"}, {"sla_state": "breached"}):
        r = front.http.get(f"{front.tickets}/v1/tickets", params={"q": word, **other})
        assert r.json()["items"] == [], other
