"""The ticket API: state machine (409 lists what is allowed), work log, resolution, CSAT, the SLA
pause while pending on the customer, filters, search and pagination."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg
import pytest

from tests.integration.conftest import wait_until
from tests.integration.core.conftest import DESK_AGENT, Front, fd_tickets, login


def _new_ticket(front: Front, subject: str, **extra: Any) -> dict[str, Any]:
    body = {"contact": {"phone": "+84 28 3822 0000"}, "subject": subject, "contract_number": "HD-2025-0003", **extra}
    r = front.post("portal", body)
    assert r.status_code == 202, r.text
    return front.ticket(r.json()["ticket_code"])


def _move(front: Front, code: str, to: str) -> Any:
    return front.desk.post(f"{front.tickets}/v1/tickets/{code}/transitions", json={"to": to})


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
    r = front.desk.post(
        f"{front.tickets}/v1/tickets/{code}/worklog",
        json={"note": "Đã gọi khách hàng, kiểm tra từ xa", "kind": "remote", "minutes_spent": 20},
    )
    assert r.status_code == 201, r.text
    paused = _move(front, code, "pending_customer").json()
    assert paused["sla"]["paused"] is True and paused["sla"]["resolution"]["due"] is None
    assert paused["sla"]["state"] == "paused"
    resumed = _move(front, code, "in_progress").json()
    assert resumed["sla"]["resolution"]["due"] > ticket["sla"]["resolution"]["due"]  # pushed back by the pause
    onsite = _move(front, code, "dispatched_onsite")
    assert onsite.status_code == 200

    r = front.desk.post(f"{front.tickets}/v1/tickets/{code}/csat", json={"score": 5})
    assert r.status_code == 409  # not before resolution
    assert _move(front, code, "resolved").status_code == 422  # only through /resolution, with root cause
    r = front.desk.post(
        f"{front.tickets}/v1/tickets/{code}/resolution",
        json={"root_cause": "Ắc quy UPS chai", "actions_taken": "Thay 4 ắc quy, kiểm tra tải"},
    )
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    assert r.json()["root_cause"] == "Ắc quy UPS chai"
    r = front.desk.post(f"{front.tickets}/v1/tickets/{code}/csat", json={"score": 6})
    assert r.status_code == 422
    r = front.desk.post(f"{front.tickets}/v1/tickets/{code}/csat", json={"score": 5, "comment": "Nhanh"})
    assert r.json()["csat_score"] == 5
    assert r.json()["priority"] == "P1"  # medium x high is P2, raised a level by the gold contract
    refused = _move(front, code, "closed")  # a P1 is closed after its post-incident review
    assert refused.status_code == 409 and "post-incident review" in refused.json()["detail"]
    review = {
        "summary": "UPS phòng máy báo lỗi ắc quy, nguy cơ mất nguồn toàn phòng máy",
        "timeline": "09:00 UPS kêu bíp; 09:20 kỹ sư đến; 10:10 thay xong ắc quy",
        "root_cause": "Ắc quy UPS chai sau 4 năm",
        "corrective_actions": ["Thay ắc quy theo lịch 3 năm", "Cảnh báo dung lượng ắc quy"],
    }
    assert front.desk.post(f"{front.tickets}/v1/tickets/{code}/review", json=review).status_code == 200
    assert front.desk.post(f"{front.tickets}/v1/tickets/{code}/review", json=review).status_code == 409  # once
    closed = _move(front, code, "closed").json()
    assert closed["status"] == "closed" and closed["allowed_transitions"] == ["in_progress"]

    events = front.events(code)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    # The singletons (SLA clock, dispatcher) may append their own events in between: the API's
    # are the created event and those of the logged-in agent.
    assert {e["actor"] for e in events[1:] if not e["actor"].startswith(("sla-clock@", "dispatcher@"))} == {DESK_AGENT}
    kinds = [e["kind"] for e in events if e["kind"] == "created" or e["actor"] == DESK_AGENT]
    assert kinds == [
        "created",
        "status_changed",
        "worklog",
        "status_changed",
        "status_changed",
        "status_changed",
        "status_changed",
        "csat",
        "post_incident_review",
        "status_changed",
    ]
    assert closed["version"] == len(events)

    reopened = _move(front, code, "in_progress")
    assert reopened.status_code == 200 and reopened.json()["status"] == "in_progress"
    ((level_since,),) = front.sql("SELECT level_since FROM tickets WHERE code = %s", code)
    assert level_since is not None and level_since >= closed_at_of(events)  # the escalation timer restarts


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
    r = front.desk.get(f"{front.tickets}/v1/tickets", params={"q": word, "limit": 2})
    page = r.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = front.desk.get(f"{front.tickets}/v1/tickets", params={"q": word, "limit": 2, "cursor": page["next_cursor"]})
    found = {t["code"] for t in page["items"]} | {t["code"] for t in rest.json()["items"]}
    assert found == codes and rest.json()["next_cursor"] is None

    r = front.desk.get(
        f"{front.tickets}/v1/tickets",
        params={"q": word, "team": "camera", "region": "central", "status": "new", "sla_state": "on_track"},
    )
    assert {t["code"] for t in r.json()["items"]} == codes
    for other in ({"team": "network"}, {"region": "north"}, {"status": "closed"}, {"sla_state": "breached"}):
        r = front.desk.get(f"{front.tickets}/v1/tickets", params={"q": word, **other})
        assert r.json()["items"] == [], other


def test_ticket_api_needs_a_session_and_auditors_only_read(front: Front, unique: Callable[[str], str]) -> None:
    code = _new_ticket(front, unique("auth"))["code"]
    url = f"{front.tickets}/v1/tickets/{code}"
    r = front.http.get(url)  # no token
    assert r.status_code == 401 and r.json()["type"].endswith("/unauthenticated")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = front.http.get(url, headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401
    auditor = login(front.http, fd_tickets(front.topo), "lan.mai", front.secrets.agent_password)
    as_auditor = {"Authorization": f"Bearer {auditor}"}
    assert front.http.get(url, headers=as_auditor).status_code == 200
    before = front.events(code)
    r = front.http.post(f"{url}/transitions", json={"to": "acknowledged"}, headers=as_auditor)
    assert r.status_code == 403 and r.json()["type"].endswith("/forbidden")
    assert front.events(code) == before  # refused: nothing written
    r = front.http.post(f"{front.tickets}/v1/agents/logout", headers=as_auditor)
    assert r.status_code == 204
    for site in front.topo.data_sites:  # revoked at both sites (the other within agents.revocation_refresh_s)
        at_site = url.replace(front.tickets, front.topo.site_url(site, "tickets"))

        def logged_out(at_site: str = at_site) -> bool | None:
            return front.http.get(at_site, headers=as_auditor).status_code == 401 or None

        wait_until(f"logged out at site {site}", logged_out, timeout=front.topo.agents.revocation_refresh_s * 3)


def closed_at_of(events: list[dict[str, Any]]) -> datetime:
    return datetime.fromisoformat(next(e["at"] for e in reversed(events) if e["data"].get("to") == "closed"))


@pytest.mark.parametrize("bad", ["a\x00b", "x\ud800y"])
def test_text_the_database_cannot_store_is_a_422_naming_the_field_and_writes_nothing(
    front: Front, unique: Callable[[str], str], bad: str
) -> None:
    code = _new_ticket(front, unique("unstorable"))["code"]
    base = fd_tickets(front.topo)
    before = front.sql("SELECT count(*) FROM ticket_events WHERE ticket_code = %s", code)

    def post(client: Any, path: str, body: dict[str, str]) -> Any:  # JSON with \u escapes: any code point travels
        return client.post(f"{base}{path}", content=json.dumps(body), headers={"Content-Type": "application/json"})

    requests = [
        ("agent_id", post(front.http, "/v1/agents/login", {"agent_id": bad, "password": "x"})),
        ("note", post(front.desk, f"/v1/tickets/{code}/worklog", {"note": bad})),
        ("note", post(front.desk, f"/v1/tickets/{code}/transitions", {"to": "acknowledged", "note": bad})),
    ]
    if "\x00" in bad:  # a lone surrogate cannot be written in a URL at all
        requests += [
            ("query.q", front.desk.get(f"{base}/v1/tickets", params={"q": bad})),
            ("query.assignee", front.desk.get(f"{base}/v1/tickets", params={"assignee": bad})),
        ]
    for field, r in requests:
        assert r.status_code == 422, (field, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in r.json()["errors"]], r.text
    assert front.sql("SELECT count(*) FROM ticket_events WHERE ticket_code = %s", code) == before


def test_the_follow_up_is_recorded_once_after_the_resolution_and_can_reopen(
    front: Front, unique: Callable[[str], str]
) -> None:
    code = _new_ticket(front, unique("Camera cổng 3 mất hình"))["code"]
    followup = f"{front.tickets}/v1/tickets/{code}/followup"
    early = front.desk.post(followup, json={"outcome": "confirmed"})
    assert early.status_code == 409 and early.headers["content-type"].startswith("application/problem+json")
    bad = front.desk.post(followup, json={"outcome": "maybe"})
    assert bad.status_code == 422
    assert _move(front, code, "acknowledged").status_code == 200
    resolution = {"root_cause": "Nguồn PoE hỏng", "actions_taken": "Thay bộ nguồn PoE"}
    assert front.desk.post(f"{front.tickets}/v1/tickets/{code}/resolution", json=resolution).status_code == 200

    r = front.desk.post(followup, json={"outcome": "reopened", "note": "Khách báo lại mất hình"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "in_progress"
    again = front.desk.post(followup, json={"outcome": "confirmed"})
    assert again.status_code == 409  # reopened: no resolution to follow up now
    recorded = [e for e in front.events(code) if e["kind"] == "followup_recorded"]
    assert [e["data"]["outcome"] for e in recorded] == ["reopened"]


def test_a_duplicate_is_closed_out_into_its_primary_with_a_link_both_ways(
    front: Front, unique: Callable[[str], str]
) -> None:
    primary = _new_ticket(front, unique("Mất kết nối chi nhánh Huế"))["code"]
    duplicate = _new_ticket(front, unique("Chi nhánh Huế gọi hotline: mất mạng"))["code"]
    url = f"{front.tickets}/v1/tickets/{duplicate}/duplicate-of"
    assert front.desk.post(url, json={"primary": duplicate}).status_code == 422
    r = front.desk.post(url, json={"primary": primary, "note": "cùng sự cố đường truyền"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "resolved" and primary in r.json()["root_cause"]
    assert front.desk.post(url, json={"primary": primary}).status_code == 409  # resolved already
    linked = [e["data"] for e in front.events(primary) if e["kind"] == "duplicate_linked"]
    assert linked == [{"duplicate": duplicate}]
    assert front.ticket(primary)["status"] == "new"  # work goes on there
