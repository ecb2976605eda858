"""`ccdr report desk --format csv`: every figure of the report, one per row."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ccdr.report_cli import CSV_COLUMNS, _csv
from core.tickets.domain.kpi import TicketFacts, compute, parse_period

VN = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=VN)


def _facts(code: str, team: str, resolve_min: float | None, **kw: object) -> TicketFacts:
    fields: dict[str, object] = {
        "code": code,
        "priority": "P2",
        "team": team,
        "region": "north",
        "asset_serial": "SN-1",
        "received_at": T0,
        "response_due": T0 + timedelta(minutes=30),
        "responded_at": T0 + timedelta(minutes=10),
        "resolution_due": T0 + timedelta(hours=8),
        "resolved_at": None if resolve_min is None else T0 + timedelta(minutes=resolve_min),
        "csat_score": None,
        "root_cause": None,
        "reopened": False,
        "customer_id": "CUST-HN-001",
    } | kw
    return TicketFacts(**fields)  # type: ignore[arg-type]


def test_every_section_of_the_report_is_in_the_csv_with_its_figures() -> None:
    later = {"received_at": T0 + timedelta(hours=6), "responded_at": T0 + timedelta(hours=6, minutes=40)}
    report = compute(
        [
            _facts("A", "network", 60, csat_score=5, root_cause="cáp đứt"),
            _facts("B", "field", None, **later, response_due=T0 + timedelta(hours=6, minutes=30)),
        ],
        parse_period("2026-W49", VN),
        T0 + timedelta(days=1),
    )
    rows = list(csv.reader(io.StringIO(_csv(report))))
    assert tuple(rows[0]) == CSV_COLUMNS
    figures = {(section, key, figure): value for period, section, key, figure, value in rows[1:]}
    assert {period for period, *_ in rows[1:]} == {"2026-W49"}
    assert figures[("desk", "", "received")] == "2"
    assert figures[("desk", "", "mttr_min")] == "60.000"
    assert figures[("desk", "", "csat_mean")] == "5.000"
    assert figures[("priority", "P2", "response_sla_share")] == "0.500"  # A in 10 of 30 min; B in 40
    assert figures[("priority", "P1", "received")] == "0"
    assert figures[("priority", "P1", "response_sla_share")] == ""  # nothing to judge: empty, not zero
    assert figures[("team", "field", "response_sla_share")] == "0.000"
    assert figures[("team", "network", "resolution_sla_share")] == "1.000"
    assert figures[("region", "north", "response_sla_share")] == "0.500"
    assert figures[("backlog", "> 3 d", "open_tickets")] == "0"
    assert figures[("backlog", "4 to 24 h", "open_tickets")] == "1"  # B, 18 h old at the end (now)
    assert figures[("mtbf_asset", "SN-1", "hours")] == "6.000"
    assert figures[("top_cause", "cáp đứt", "tickets")] == "1"


def test_a_root_cause_that_looks_like_a_formula_is_not_one_in_the_csv() -> None:
    report = compute(
        [_facts("A", "network", 60, root_cause='=HYPERLINK("http://evil","x")')],
        parse_period("2026-W49", VN),
        T0 + timedelta(days=1),
    )
    rows = list(csv.reader(io.StringIO(_csv(report))))
    [cause] = [key for _, section, key, _, _ in rows[1:] if section == "top_cause"]
    assert cause.startswith("'=")
