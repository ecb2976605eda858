"""No input can stall the ticket pipeline: what intake cannot store it refuses, and what reaches the
intake topic some other way is quarantined while the next intake becomes a ticket within seconds
and the ticket API keeps answering at both sites."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from core.intake.domain.codes import ticket_code_for
from tests.integration.conftest import wait_until
from tests.integration.core.conftest import Front

pytestmark = pytest.mark.lab

CCDR = [str(Path(sys.executable).with_name("ccdr"))]
NEXT_TICKET_S = 15  # the intake after a poison event must be a ticket well within this
VALID = {"contact": {"email": "ops@example.vn"}, "subject": "máy chủ không phản hồi"}


def _event(**change: Any) -> dict[str, Any]:
    """An intake.v1 event as intake would write it."""
    intake_id = uuid.uuid4()
    now = datetime.now(UTC).isoformat()
    return {
        "channel": "portal",
        "kind": "new",
        "subject": "poison probe",
        "description": "",
        "contact": {"phone": "0912000000"},
        "schema_version": 1,
        "intake_id": str(intake_id),
        "ticket_code": ticket_code_for(intake_id),
        "event_time": now,
        "received_at": now,
        "received_site": "a",
        "receiver": "system",
        **change,
    }


def _json(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


POISON: dict[str, Callable[[], bytes]] = {
    "NUL": lambda: _json(_event(description="a\u0000b")),
    # A lone surrogate cannot even be UTF-8: written as the JSON escape another producer would send.
    "lone surrogate": lambda: _json(_event()).replace(b'"poison probe"', b'"poison \\ud800 probe"'),
    "year 10000": lambda: _json(_event(event_time="9999-12-31T23:00:00-05:00")),
    "oversize text": lambda: _json(_event(description="x" * 600_000)),
    "broken JSON": lambda: b'{"channel": "portal", "kind": ',
    "unknown schema version": lambda: _json(_event(schema_version=2)),
}


def _produce(front: Front, payload: bytes) -> None:
    async def send() -> None:
        producer = AIOKafkaProducer(  # as a defective intake release would
            bootstrap_servers=front.topo.kafka_bootstrap(),
            acks="all",
            max_request_size=2_000_000,
            **front.kafka_options("intake"),
        )
        await producer.start()
        try:
            await producer.send_and_wait(front.topo.kafka.intake_topic, payload, key=b"poison")
        finally:
            await producer.stop()

    asyncio.run(send())


def _ccdr(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CCDR, *args], capture_output=True, text=True, timeout=120)


def _ticket_api_answers_at_both_sites(front: Front) -> None:
    for site in front.topo.data_sites:
        base = front.topo.site_url(site, "tickets")
        r = front.desk.get(f"{base}/v1/tickets", params={"limit": 1})
        assert r.status_code == 200, f"ticket API at {site}: {r.status_code} {r.text[:200]}"


def _quarantined(front: Front, since_id: int) -> list[tuple[Any, ...]]:
    return front.sql("SELECT id, reason, error FROM intake_quarantine WHERE id > %s ORDER BY id", since_id)


def _last_quarantine_id(front: Front) -> int:
    return int(front.sql("SELECT COALESCE(max(id), 0) FROM intake_quarantine")[0][0])


@pytest.mark.parametrize("case", list(POISON))
def test_a_poison_event_is_quarantined_and_the_next_intake_becomes_a_ticket(
    front: Front, unique: Callable[[str], str], case: str
) -> None:
    since = _last_quarantine_id(front)
    _produce(front, POISON[case]())
    r = front.post("portal", {**VALID, "subject": unique(f"after {case}")})
    assert r.status_code == 202, r.text
    front.ticket(r.json()["ticket_code"], timeout=NEXT_TICKET_S)
    _ticket_api_answers_at_both_sites(front)
    rows = _quarantined(front, since)
    assert len(rows) == 1, rows
    expected = "unstorable" if case in ("NUL", "year 10000") else "undecodable"  # the rest break the schema
    assert rows[0][1] == expected, rows


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"contact": {"phone": "0912000000"}, "subject": "a\\u0000b"}', 422),
        (b'{"contact": {"phone": "0912000000"}, "subject": "a\\ud800b"}', 422),
        (b'{"contact": {"phone": "0912000000"}, "subject": "s", "event_time": "9999-12-31T23:00:00-05:00"}', 422),
        (json.dumps({**VALID, "description": "x" * 2_000_000}).encode(), 413),
    ],
)
def test_intake_refuses_what_the_store_cannot_keep(front: Front, body: bytes, status: int) -> None:
    before = front.intake_offsets()
    r = front.http.post(f"{front.intake}/v1/intake/portal", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text[:300]
    assert r.headers["content-type"].startswith("application/problem+json")
    assert front.intake_offsets() == before


@pytest.fixture
def refusing_subject(front: Front) -> Iterator[str]:
    """The database refuses tickets with this subject (a constraint the code does not know about),
    as it would after a schema change the worker was not built for."""
    subject = f"refused-{uuid.uuid4().hex[:8]}"
    front.schema_sql(f"ALTER TABLE tickets ADD CONSTRAINT ccdr_test_refuse CHECK (subject <> '{subject}') NOT VALID")
    try:
        yield subject
    finally:
        front.schema_sql("ALTER TABLE tickets DROP CONSTRAINT IF EXISTS ccdr_test_refuse")


def test_an_event_the_database_refuses_is_isolated_quarantined_and_retryable(
    front: Front, unique: Callable[[str], str], refusing_subject: str
) -> None:
    since = _last_quarantine_id(front)
    refused = front.post("portal", {**VALID, "subject": refusing_subject})
    assert refused.status_code == 202
    fine = [front.post("portal", {**VALID, "subject": unique("beside a refused one")}) for _ in range(5)]
    for r in fine:
        front.ticket(r.json()["ticket_code"], timeout=NEXT_TICKET_S)
    _ticket_api_answers_at_both_sites(front)

    def quarantined() -> list[tuple[Any, ...]] | None:
        rows = _quarantined(front, since)
        return rows or None

    rows = wait_until("the refused event quarantined", quarantined, NEXT_TICKET_S)
    assert [r[1] for r in rows] == ["rejected"] and "ccdr_test_refuse" in rows[0][2], rows

    front.schema_sql("ALTER TABLE tickets DROP CONSTRAINT ccdr_test_refuse")
    listed = _ccdr("tickets", "quarantine", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    entry = next(json.loads(line) for line in listed.stdout.splitlines() if json.loads(line)["id"] == rows[0][0])
    assert entry["reason"] == "rejected" and entry["retried_at"] is None
    retried = subprocess.run(
        [*CCDR, "tickets", "quarantine", "retry", str(entry["id"])], capture_output=True, text=True
    )
    assert retried.returncode == 0, retried.stderr
    ticket = front.ticket(refused.json()["ticket_code"], timeout=NEXT_TICKET_S)
    assert ticket["subject"] == refusing_subject
    again = _ccdr("tickets", "quarantine", "retry", str(entry["id"]))
    assert again.returncode == 1 and "nothing pending" in again.stderr  # sent back once only


def _quarantined_in_metrics(front: Front) -> float:
    total = 0.0
    for site in front.topo.data_sites:
        url = f"http://{front.topo.site(site).address}:{front.topo.ports.ticket_worker_http}/metrics"
        text = httpx.get(url, timeout=10).text
        total += sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("ccdr_tickets_quarantined_total{")
        )
    return total


def test_the_worker_counts_quarantined_events_in_metrics(front: Front) -> None:
    before = _quarantined_in_metrics(front)
    _produce(front, POISON["broken JSON"]())

    wait_until("the quarantine counted in /metrics", lambda: _quarantined_in_metrics(front) > before, NEXT_TICKET_S)


def test_the_workers_export_their_lag(front: Front, unique: Callable[[str], str]) -> None:
    r = front.post("portal", {**VALID, "subject": unique("lag probe")})
    front.ticket(r.json()["ticket_code"], timeout=NEXT_TICKET_S)
    lags: list[float] = []
    for site in front.topo.data_sites:
        url = f"http://{front.topo.site(site).address}:{front.topo.ports.ticket_worker_http}/metrics"
        lags += [
            float(line.rsplit(" ", 1)[1])
            for line in httpx.get(url, timeout=10).text.splitlines()
            if line.startswith("ccdr_tickets_consumer_lag_events{")
        ]
    # Each partition is held by one of the two workers, which reports how far behind it is once it
    # knows the partition's high watermark (from a fetch): at least the one our intake went to.
    assert 1 <= len(lags) <= front.topo.kafka.partitions and all(lag >= 0 for lag in lags), lags
