"""On-site dispatch on the lab: the nearest free technician goes, the parts are reserved in the
same transaction (or nothing is), and the visit record puts back what was not used."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.core.conftest import Front


@pytest.fixture
def field(front: Front) -> Iterator[dict[str, str]]:
    """A technician, a customer site and a warehouse of this test's own: no other technician has a
    known route there, so the choice is this test's to predict."""
    uid = uuid.uuid4().hex[:8]
    names = {
        "tech": f"tech.test.{uid}",
        "office": f"Văn phòng thử {uid}",
        "site": f"Công trường thử {uid}",
        "warehouse": f"WH-TEST-{uid}",
        "part": f"PSU-TEST-{uid}",
    }
    front.sql(
        """INSERT INTO technicians (id, name, skills, region, base_place, current_place)
           VALUES (%s, 'Kỹ thuật viên thử', '{server}', 'north', %s, %s)""",
        names["tech"],
        names["office"],
        names["office"],
    )
    front.sql(
        "INSERT INTO travel_times VALUES (%s, %s, 40), (%s, %s, 40)",
        names["office"],
        names["site"],
        names["site"],
        names["office"],
    )
    front.sql("INSERT INTO warehouses VALUES (%s, %s)", names["warehouse"], names["office"])
    front.sql("INSERT INTO spare_parts VALUES (%s, %s, 2)", names["warehouse"], names["part"])
    yield names
    front.sql("UPDATE technicians SET on_duty = false WHERE id = %s", names["tech"])


def _ticket(front: Front) -> str:
    body = {
        "contact": {"phone": "+84 24 3936 0000"},
        "subject": f"Máy chủ R750 mất nguồn {uuid.uuid4().hex[:6]}",
        "category": "server",
    }
    r = front.post("portal", body)
    assert r.status_code == 202, r.text
    code = str(r.json()["ticket_code"])
    assert front.ticket(code)["team"] == "server"
    assert (
        front.desk.post(f"{front.tickets}/v1/tickets/{code}/transitions", json={"to": "acknowledged"}).status_code
        == 200
    )
    return code


def _stock(front: Front, field: dict[str, str]) -> int:
    return int(front.sql("SELECT quantity FROM spare_parts WHERE warehouse_id = %s", field["warehouse"])[0][0])


def _dispatch(front: Front, code: str, field: dict[str, str], quantity: int) -> Any:
    body = {"place": field["site"], "parts": [{"part_number": field["part"], "quantity": quantity}]}
    return front.desk.post(f"{front.tickets}/v1/tickets/{code}/dispatch", json=body)


def test_a_dispatch_sends_the_nearest_free_technician_with_the_parts_and_the_visit_record_returns_the_rest(
    front: Front, field: dict[str, str]
) -> None:
    code = _ticket(front)
    base = f"{front.tickets}/v1/tickets/{code}"

    short = _dispatch(front, code, field, 3)
    assert short.status_code == 409 and "2 in stock" in short.json()["detail"]
    assert _stock(front, field) == 2 and front.ticket(code)["status"] == "acknowledged"  # nothing changed

    sent_at = datetime.now(UTC)
    r = _dispatch(front, code, field, 2)
    assert r.status_code == 201, r.text
    visit = r.json()["visit"]
    assert (visit["technician_id"], visit["travel_minutes"], visit["status"]) == (field["tech"], 40, "dispatched")
    eta = datetime.fromisoformat(visit["eta"])
    assert abs(eta - (sent_at + timedelta(minutes=40))) < timedelta(seconds=30)
    assert r.json()["warnings"] == []  # 40 min of travel is well within the resolution's due time
    assert [(p["part_number"], p["quantity"], p["status"]) for p in visit["parts"]] == [(field["part"], 2, "reserved")]
    assert _stock(front, field) == 0 and front.ticket(code)["status"] == "dispatched_onsite"
    assert _dispatch(front, code, field, 0).status_code == 422  # a quantity of 0 is refused
    other = _ticket(front)
    busy = front.desk.post(f"{front.tickets}/v1/tickets/{other}/dispatch", json={"place": field["site"]})
    # The only technician with a route there is out on the first visit (the demo ones have none).
    assert busy.status_code == 409
    assert busy.json()["detail"] == f"no free server technician has a known route to {field['site']!r}"

    visit_url = f"{base}/visits/{visit['id']}"
    report = {
        "work_done": "Thay bộ nguồn PSU2, kiểm tra tải",
        "parts_used": [{"part_number": field["part"], "quantity": 1}],
        "photos": [
            {"name": "psu.jpg", "sha256": "a" * 64, "bytes": 183_422, "taken_at": datetime.now(UTC).isoformat()}
        ],
        "signoff": {"name": "Nguyễn Văn An", "note": "Máy chủ chạy lại bình thường"},
    }
    early = front.desk.post(f"{visit_url}/departure", json=report)
    assert early.status_code == 409 and "needs it on_site" in early.json()["detail"]
    arrived = front.desk.post(f"{visit_url}/arrival")
    assert arrived.status_code == 200 and arrived.json()["status"] == "on_site"
    done = front.desk.post(f"{visit_url}/departure", json=report)
    assert done.status_code == 200, done.text
    record = done.json()
    assert record["status"] == "done" and record["signoff"]["name"] == "Nguyễn Văn An" and len(record["photos"]) == 1
    assert [(p["used"], p["status"]) for p in record["parts"]] == [(1, "used")]
    assert _stock(front, field) == 1  # the unused one is back on the shelf
    assert front.ticket(code)["status"] == "in_progress"  # the engineer resolves it, with the root cause
    assert front.sql("SELECT current_place FROM technicians WHERE id = %s", field["tech"]) == [(field["site"],)]
    kinds = [e["kind"] for e in front.events(code)]
    assert [k for k in kinds if k in {"dispatched", "technician_arrived", "visit_completed"}] == [
        "dispatched",
        "technician_arrived",
        "visit_completed",
    ]
    listed = front.desk.get(f"{base}/visits").json()["visits"]
    assert [v["id"] for v in listed] == [visit["id"]]


def test_a_cancelled_visit_gives_every_part_back_and_frees_the_technician(front: Front, field: dict[str, str]) -> None:
    code = _ticket(front)
    visit = _dispatch(front, code, field, 2).json()["visit"]
    assert _stock(front, field) == 0
    cancel = front.desk.post(
        f"{front.tickets}/v1/tickets/{code}/visits/{visit['id']}/cancellation", json={"reason": "Khách dời lịch"}
    )
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
    assert _stock(front, field) == 2
    assert front.ticket(code)["status"] == "in_progress"
    again = _dispatch(front, code, field, 1)  # the technician is free again
    assert again.status_code == 201 and again.json()["visit"]["technician_id"] == field["tech"]
    front.desk.post(
        f"{front.tickets}/v1/tickets/{code}/visits/{again.json()['visit']['id']}/cancellation", json={"reason": "x"}
    )
