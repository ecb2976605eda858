"""`ccdr report desk` on the lab: a ticket received and resolved this week shows in the week's KPIs."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ccdr.report_cli import DESK_TZ
from core.tickets.domain.kpi import previous_period
from tests.integration.conftest import CCDR, ccdr, wait_until
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


def test_the_report_as_a_pdf_and_the_weeks_figures_on_metrics(front: Front, tmp_path: Path) -> None:
    pdf = tmp_path / "desk.pdf"
    done = ccdr("report", "desk", "--period", _week(), "--format", "pdf", "--out", str(pdf))
    assert f"wrote {pdf}" in done.stdout and pdf.read_bytes().startswith(b"%PDF-")
    page = ccdr("report", "desk", "--period", _week(), "--format", "html").stdout
    assert f"Service desk {_week()}" in page and page.count("<svg") == 3
    refused = ccdr("report", "desk", "--period", _week(), "--format", "pdf", check=False)
    assert refused.returncode != 0 and "needs --out" in refused.stderr

    def gauges() -> str | None:
        text = front.http.get(f"{front.tickets}/metrics").text
        return text if f'ccdr_desk_received_tickets{{period="{_week()}"}}' in text else None

    metrics = wait_until("the desk's KPIs on /metrics", gauges, 90)  # computed every tickets.kpi_refresh_s
    assert "ccdr_desk_backlog_tickets{" in metrics and "ccdr_desk_kpi_age_seconds" in metrics


def test_the_report_scheduler_writes_last_week_and_last_month_once(front: Front, tmp_path: Path) -> None:
    now = datetime.now(ZoneInfo(DESK_TZ))
    periods = [previous_period("week", now, ZoneInfo(DESK_TZ)), previous_period("month", now, ZoneInfo(DESK_TZ))]
    front.sql("DELETE FROM desk_report_runs WHERE period = ANY (%s)", periods)
    proc = subprocess.Popen([*CCDR, "report", "scheduler", "--candidate", "it-reports", "--out", str(tmp_path)])
    try:

        def written() -> list[tuple[Any, ...]] | None:
            rows = front.sql("SELECT period, path, scheduler FROM desk_report_runs WHERE period = ANY (%s)", periods)
            return rows if len(rows) == 2 else None

        rows = wait_until("the scheduler's reports recorded", written, 120)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert {r[0] for r in rows} == set(periods) and {r[2] for r in rows} == {"it-reports"}
    for period in periods:
        assert (tmp_path / f"desk-{period}.pdf").read_bytes().startswith(b"%PDF-")
