"""The desk's KPIs against figures computed by hand from five tickets."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.tickets.domain.kpi import PeriodError, TicketFacts, compute, parse_period, previous_period

VN = ZoneInfo("Asia/Ho_Chi_Minh")
WEEK = parse_period("2026-W49", VN)  # Mon 30 Nov .. Mon 7 Dec 2026, Vietnam time
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=VN)
NOW = datetime(2026, 12, 9, 0, 0, tzinfo=VN)


def _t(
    code: str, priority: str, *, at_h: float, respond_min: float | None, resolve_min: float | None, **kw: object
) -> TicketFacts:
    received = T0 + timedelta(hours=at_h)
    fields: dict[str, object] = {
        "code": code,
        "priority": priority,
        "team": "network",
        "region": "north",
        "asset_serial": None,
        "received_at": received,
        "response_due": received + timedelta(minutes=15),
        "responded_at": None if respond_min is None else received + timedelta(minutes=respond_min),
        "resolution_due": received + timedelta(hours=4),
        "resolved_at": None if resolve_min is None else received + timedelta(minutes=resolve_min),
        "csat_score": None,
        "root_cause": None,
        "reopened": False,
    } | kw
    return TicketFacts(**fields)  # type: ignore[arg-type]


FACTS = [
    _t("A", "P1", at_h=0, respond_min=10, resolve_min=120, asset_serial="SN-1", csat_score=5, root_cause="Cáp  hỏng"),
    _t("B", "P1", at_h=2, respond_min=20, resolve_min=300, asset_serial="SN-1", csat_score=3, root_cause="cáp hỏng"),
    _t("C", "P1", at_h=5, respond_min=None, resolve_min=None, asset_serial="SN-1"),  # open, both targets missed by NOW
    _t("D", "P3", at_h=1, respond_min=5, resolve_min=60, reopened=True, root_cause="nguồn"),
    _t("E", "P2", at_h=-48, respond_min=1, resolve_min=10),  # received before the week: not counted
    _t("F", "P4", at_h=-120, respond_min=1, resolve_min=None),  # received before the week, open: backlog only
    _t("G", "P3", at_h=-40, respond_min=1, resolve_min=180 * 60),  # Sun 29 Nov 16:00, resolved after the week
]


def test_each_figure_is_what_a_person_computes_by_hand() -> None:
    r = compute(FACTS, WEEK, NOW)
    assert (r.received, r.resolved) == (4, 3)
    p1 = r.by_priority[0]
    assert (p1.priority, p1.received) == ("P1", 3)
    assert p1.first_response.count == 2 and p1.first_response.p50_min == 15.0  # median of 10 and 20
    assert p1.time_to_resolve.mean_min == 210.0  # (120 + 300) / 2
    assert (p1.response_sla.met, p1.response_sla.judged) == (1, 3)  # 10 ≤ 15; 20 > 15; C never responded
    assert (p1.resolution_sla.met, p1.resolution_sla.judged) == (1, 3)  # 120 ≤ 240; 300 > 240; C missed
    assert r.by_priority[2].received == 1 and r.by_priority[1].received == 0  # E was the week before
    assert (r.first_time_fix.met, r.first_time_fix.judged) == (2, 3)  # D was reopened
    assert r.mttr_min == pytest.approx((120 + 300 + 60) / 3)
    assert r.mtbf_h_by_asset == {"SN-1": 2.5}  # incidents at 0 h, 2 h, 5 h
    assert r.csat_mean == 4.0 and (r.csat_response.met, r.csat_response.judged) == (2, 3)
    # At the week's end (Mon 7 Dec 00:00): C open since Tue 13:00, F since the week before, G received
    # Sun 29 Nov 16:00 and resolved only after the end: all three > 3 d.
    assert r.backlog == {"< 4 h": 0, "4 to 24 h": 0, "1 to 3 d": 0, "> 3 d": 3}
    assert r.top_causes[0] == ("cáp hỏng", 2)  # spacing and case do not split a cause


def test_the_backlog_is_what_was_open_at_the_periods_end_not_what_is_open_now() -> None:
    # Sun 6 Dec 20:00, resolved Tue 8 Dec: open at the end, 4 h old; Sat 5 Dec 08:00, resolved Sun: not.
    late = _t("H", "P3", at_h=5 * 24 + 12, respond_min=1, resolve_min=36 * 60)
    early = _t("I", "P3", at_h=4 * 24, respond_min=1, resolve_min=24 * 60)
    r = compute([late, early], WEEK, NOW)
    assert r.backlog == {"< 4 h": 0, "4 to 24 h": 1, "1 to 3 d": 0, "> 3 d": 0}


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-W49", "2026-11-30", "2026-12-07"),
        ("2026-12", "2026-12-01", "2027-01-01"),
        ("2026-Q4", "2026-10-01", "2027-01-01"),
        ("2026-Q1", "2026-01-01", "2026-04-01"),
    ],
)
def test_a_period_is_a_week_a_month_or_a_quarter_in_the_desks_time_zone(text: str, start: str, end: str) -> None:
    p = parse_period(text, VN)
    assert (p.start.date().isoformat(), p.end.date().isoformat()) == (start, end)
    assert p.start.utcoffset() == timedelta(hours=7)


@pytest.mark.parametrize("text", ["2026-W60", "2025-W53", "2026-13", "2026-Q5", "December", ""])
def test_anything_else_is_refused_with_the_forms_that_work(text: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(text, VN)


def test_resolution_sla_by_region_and_mtbf_by_customer() -> None:
    facts = [
        _t("R1", "P2", at_h=0, respond_min=5, resolve_min=60, region="central", customer_id="CUST-DN-002"),
        _t("R2", "P2", at_h=6, respond_min=5, resolve_min=300, region="central", customer_id="CUST-DN-002"),
        _t("R3", "P2", at_h=18, respond_min=5, resolve_min=30, region=None, customer_id="CUST-DN-002"),
        _t("R4", "P2", at_h=1, respond_min=5, resolve_min=30, customer_id="CUST-HN-001"),
    ]
    r = compute(facts, WEEK, NOW)
    # central: 60 min met the 4 h target, 300 min missed it; a ticket without a region is "unknown".
    assert {k: (c.met, c.judged) for k, c in r.by_region.items()} == {
        "central": (1, 2),
        "north": (1, 1),
        "unknown": (1, 1),
    }
    assert r.mtbf_h_by_customer == {"CUST-DN-002": 9.0}  # gaps of 6 h and 12 h; one incident is no MTBF


def test_a_return_visit_is_not_a_first_time_fix() -> None:
    once = _t("V1", "P3", at_h=0, respond_min=5, resolve_min=60, visits=1)
    twice = _t("V2", "P3", at_h=1, respond_min=5, resolve_min=600, visits=2)
    remote = _t("V3", "P3", at_h=2, respond_min=5, resolve_min=30)
    r = compute([once, twice, remote], WEEK, NOW)
    assert (r.first_time_fix.met, r.first_time_fix.judged) == (2, 3)


def test_response_and_resolution_sla_by_team_and_region() -> None:
    facts = [
        # network, north: responded in 10 (met 15), resolved in 300 (missed 240)
        _t("N1", "P2", at_h=0, respond_min=10, resolve_min=300),
        # network, south: responded in 20 (missed), resolved in 60 (met)
        _t("N2", "P2", at_h=1, respond_min=20, resolve_min=60, region="south"),
        # field, north: never responded, past both targets by NOW: missed twice
        _t("F1", "P2", at_h=2, respond_min=None, resolve_min=None, team="field"),
    ]
    r = compute(facts, WEEK, NOW)
    pairs = lambda d: {k: (c.met, c.judged) for k, c in d.items()}  # noqa: E731
    assert pairs(r.response_by_team) == {"field": (0, 1), "network": (1, 2)}
    assert pairs(r.by_team) == {"field": (0, 1), "network": (1, 2)}
    assert pairs(r.response_by_region) == {"north": (1, 2), "south": (0, 1)}
    assert pairs(r.by_region) == {"north": (0, 2), "south": (1, 1)}


@pytest.mark.parametrize(
    ("now", "kind", "label"),
    [
        (datetime(2026, 12, 7, 6, 0, tzinfo=VN), "week", "2026-W49"),  # Monday morning: the week that ended
        (datetime(2026, 12, 6, 23, 0, tzinfo=VN), "week", "2026-W48"),  # still Sunday: W49 is not over
        (datetime(2027, 1, 4, 0, 30, tzinfo=VN), "week", "2026-W53"),  # ISO year 2026 has 53 weeks
        (datetime(2026, 12, 1, 0, 5, tzinfo=VN), "month", "2026-11"),
        (datetime(2027, 1, 1, 0, 5, tzinfo=VN), "month", "2026-12"),
    ],
)
def test_a_scheduled_report_covers_the_last_complete_period(now: datetime, kind: str, label: str) -> None:
    assert previous_period(kind, now, VN) == label


def test_a_scheduled_report_is_a_week_or_a_month() -> None:
    with pytest.raises(PeriodError, match="a week or a month"):
        previous_period("day", NOW, VN)
