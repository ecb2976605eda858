"""The desk report as a page with charts, and as PDF."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ccdr import desk_report_render
from core.tickets.domain.kpi import TicketFacts, compute, parse_period

VN = ZoneInfo("Asia/Ho_Chi_Minh")
WEEK = parse_period("2026-W49", VN)
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=VN)


def _facts(code: str, region: str | None, resolve_min: float | None, cause: str | None = None) -> TicketFacts:
    return TicketFacts(
        code=code,
        priority="P2",
        team="network",
        region=region,
        asset_serial="SN-FW-HN-0001",
        received_at=T0,
        response_due=T0 + timedelta(minutes=30),
        responded_at=T0 + timedelta(minutes=10),
        resolution_due=T0 + timedelta(hours=8),
        resolved_at=None if resolve_min is None else T0 + timedelta(minutes=resolve_min),
        csat_score=4,
        root_cause=cause,
        reopened=False,
        customer_id="CUST-HN-001",
    )


REPORT = compute(
    [_facts("A", "north", 60, "Cáp <quang> đứt"), _facts("B", "central", 900), _facts("C", None, None)],
    WEEK,
    T0 + timedelta(days=3),
)


def test_the_page_has_the_figures_the_charts_and_escapes_what_people_typed() -> None:
    page = desk_report_render.html(REPORT)
    assert "Service desk 2026-W49" in page
    assert page.count("<svg") == 3  # SLA by priority, by region, backlog by age
    # region, response SLA (all three answered in 10 of 30 min), resolution SLA
    assert "<td>central</td><td>100.0 % (1/1)</td><td>0.0 % (0/1)</td>" in page
    assert "<td>north</td><td>100.0 % (1/1)</td><td>100.0 % (1/1)</td>" in page
    assert "cáp &lt;quang&gt; đứt" in page and "<quang>" not in page


def test_the_pdf_is_a_pdf() -> None:
    data = desk_report_render.pdf(REPORT)
    assert data.startswith(b"%PDF-") and len(data) > 5000
