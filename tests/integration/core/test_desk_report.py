"""`ccdr report desk` on the lab: a ticket received and resolved this week shows in the week's KPIs."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from ccdr.report_cli import DESK_TZ
from tests.integration.conftest import ccdr
from tests.integration.core.conftest import Front


def _week() -> str:
    year, week, _ = datetime.now(ZoneInfo(DESK_TZ)).isocalendar()
    return f"{year}-W{week:02d}"


def test_a_resolved_ticket_counts_in_this_weeks_report(front: Front, unique: Callable[[str], str]) -> None:
    before = json.loads(ccdr("report", "desk", "--period", _week(), "--format", "json").stdout)
    subject = unique("kpi")
    r = front.post(
        "portal", {"subject": subject, "contact": {"phone": "+84 24 3000 0000"}}, headers={"Idempotency-Key": subject}
    )
    assert r.status_code == 202, r.text
    code = r.json()["ticket_code"]
    front.ticket(code)
    cause = f"dây nguồn lỏng {subject}"
    resolved = front.desk.post(
        f"{front.tickets}/v1/tickets/{code}/resolution", json={"root_cause": cause, "actions_taken": "cắm lại"}
    )
    assert resolved.status_code == 200, resolved.text
    after = json.loads(ccdr("report", "desk", "--period", _week(), "--format", "json").stdout)
    assert after["received"] >= before["received"] + 1 and after["resolved"] >= before["resolved"] + 1
    assert after["first_time_fix"]["judged"] >= before["first_time_fix"]["judged"] + 1
    bad = ccdr("report", "desk", "--period", "2026-13", check=False)
    assert bad.returncode != 0 and "not a period" not in bad.stdout and "no such month" in bad.stderr
