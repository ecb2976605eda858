"""Each bad input gets its problem response and leaves Kafka and PostgreSQL unchanged; a retry at
the other site returns the same ticket."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.integration.conftest import wait_until
from tests.integration.core.conftest import Front

VALID = {"contact": {"email": "ops@example.vn"}, "subject": "ổ cứng báo lỗi"}


def _counts(front: Front) -> tuple[int, int, int]:
    (row,) = front.sql("SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM intakes), 0")
    return front.intake_offsets(), int(row[0]), int(row[1])


def _settled_counts(front: Front) -> tuple[int, int, int]:
    """The counts once the pipeline is idle (the same twice, 2 s apart): intakes of earlier tests or
    of the lab's start still being applied are not this test's (CI saw 50 tickets land meanwhile)."""
    last: list[tuple[int, int, int]] = []

    def same_twice() -> tuple[int, int, int] | None:
        now = _counts(front)
        settled = now if last and last[-1] == now else None
        last.append(now)
        return settled

    return wait_until("the pipeline idle", same_twice, timeout=120, interval=2)


def _bad_requests(front: Front) -> list[tuple[str, Callable[[], httpx.Response], int, str]]:
    url = f"{front.intake}/v1/intake"
    too_big = {**VALID, "description": "x" * (front.topo.intake.max_body_bytes + 10)}
    return [
        ("unknown channel", lambda: front.http.post(f"{url}/fax", json=VALID), 404, "not-found"),
        (
            "wrong content type",
            lambda: front.http.post(f"{url}/portal", content=b"subject=x", headers={"Content-Type": "text/plain"}),
            415,
            "unsupported-media-type",
        ),
        ("oversize", lambda: front.http.post(f"{url}/portal", json=too_big), 413, "payload-too-large"),
        (
            "malformed JSON",
            lambda: front.http.post(f"{url}/portal", content=b"{", headers={"Content-Type": "application/json"}),
            400,
            "malformed-request",
        ),
        (
            "missing subject",
            lambda: front.http.post(f"{url}/portal", json={"contact": {"phone": "1"}}),
            422,
            "invalid-input",
        ),
        (
            "bad email",
            lambda: front.http.post(f"{url}/portal", json={**VALID, "contact": {"email": "not-an-address"}}),
            422,
            "invalid-input",
        ),
        (
            "unreachable reporter",
            lambda: front.http.post(f"{url}/portal", json={"subject": "x", "contact": {}}),
            422,
            "invalid-input",
        ),
        (
            "alert without token",
            lambda: front.http.post(f"{url}/alertmanager", json={"version": "4"}),
            401,
            "bad-signature",
        ),
        (
            "slack bad signature",
            lambda: front.http.post(
                f"{url}/slack",
                json={"type": "event_callback"},
                headers={"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=00"},
            ),
            401,
            "bad-signature",
        ),
        (
            "teams bad hmac",
            lambda: front.http.post(f"{url}/teams", json={}, headers={"Authorization": "HMAC AAAA"}),
            401,
            "bad-signature",
        ),
        ("zalo unsigned", lambda: front.http.post(f"{url}/zalo", json={"app_id": "1"}), 401, "bad-signature"),
        (
            "bad idempotency key",
            lambda: front.http.post(f"{url}/portal", json=VALID, headers={"Idempotency-Key": "x" * 300}),
            400,
            "malformed-request",
        ),
    ]


def test_each_bad_input_gets_its_problem_and_changes_nothing(front: Front) -> None:
    before = _settled_counts(front)
    seen: list[dict[str, Any]] = []
    for name, send, status, code in _bad_requests(front):
        r = send()
        assert r.status_code == status, f"{name}: {r.status_code} {r.text[:300]}"
        assert r.headers["content-type"].startswith("application/problem+json"), name
        problem = r.json()
        assert problem["type"].endswith("/" + code), f"{name}: {problem}"
        assert problem["status"] == status and problem["title"] and problem["detail"], name
        seen.append(problem)
    missing = next(p for p in seen if "subject" in p["detail"])
    assert any(e["field"] == "subject" for e in missing["errors"])  # 422 names the field
    time.sleep(2)  # anything produced would have been applied by now
    assert _counts(front) == before


def test_ticket_api_problems(front: Front) -> None:
    r = front.desk.get(f"{front.tickets}/v1/tickets/INC-0000-0000-0000")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    r = front.desk.get(f"{front.tickets}/v1/tickets", params={"priority": "P9"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"].endswith("priority")
    r = front.desk.get(f"{front.tickets}/v1/tickets", params={"cursor": "garbage"})
    assert r.status_code == 400


def test_retry_at_site_a_then_b_yields_one_ticket(front: Front, unique: Callable[[str], str]) -> None:
    key = unique("idem")
    body = {**VALID, "subject": unique("retry across sites")}
    first = front.post("portal", body, base=front.site_intake("a"), headers={"Idempotency-Key": key})
    second = front.post("portal", body, base=front.site_intake("b"), headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 202
    assert first.json()["ticket_code"] == second.json()["ticket_code"]
    assert first.json()["intake_id"] == second.json()["intake_id"]
    ticket = front.ticket(first.json()["ticket_code"])
    assert ticket["received_site"] in ("a", "b")
    time.sleep(2)  # let the second copy be applied (as a duplicate)
    rows = front.sql("SELECT count(*) FROM tickets WHERE subject = %s", body["subject"])
    assert rows == [(1,)]
    ledger = front.sql("SELECT count(*) FROM intakes WHERE intake_id = %s", first.json()["intake_id"])
    assert ledger == [(1,)]


@pytest.mark.parametrize("header", [None, "k"])
def test_without_a_key_two_posts_are_two_tickets(
    front: Front, unique: Callable[[str], str], header: str | None
) -> None:
    """The control for the test above: only a shared key collapses requests."""
    body = {**VALID, "subject": unique("two posts")}
    headers = [{"Idempotency-Key": unique("k1")}, {"Idempotency-Key": unique("k2")}] if header else [{}, {}]
    codes = {front.post("portal", body, headers=h).json()["ticket_code"] for h in headers}
    assert len(codes) == 2
