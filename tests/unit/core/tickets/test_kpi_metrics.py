"""The desk's KPIs as Prometheus gauges: names, labels and values from one report."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.tickets.domain.kpi import TicketFacts, compute, parse_period
from core.tickets.kpi_metrics import current_week, families

VN = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=VN)


def _facts(code: str, resolve_min: float | None) -> TicketFacts:
    return TicketFacts(
        code=code,
        priority="P1",
        team="network",
        region="north",
        asset_serial=None,
        received_at=T0,
        response_due=T0 + timedelta(minutes=15),
        responded_at=T0 + timedelta(minutes=10),
        resolution_due=T0 + timedelta(hours=4),
        resolved_at=None if resolve_min is None else T0 + timedelta(minutes=resolve_min),
        csat_score=None,
        root_cause=None,
        reopened=False,
    )


def test_the_week_is_the_desks_iso_week() -> None:
    # Sunday 23:30 UTC is already Monday in Hà Nội.
    assert current_week(datetime(2026, 12, 6, 23, 30, tzinfo=ZoneInfo("UTC")), VN) == "2026-W50"


def test_each_figure_is_a_gauge_with_its_labels() -> None:
    report = compute([_facts("A", 60), _facts("B", 600)], parse_period("2026-W49", VN), T0 + timedelta(days=1))
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families(report, 12.5) for s in f.samples}
    week = ("period", "2026-W49")
    assert samples[("ccdr_desk_received_tickets", (week,))] == 2
    assert samples[("ccdr_desk_sla_met_ratio", (week, ("priority", "P1"), ("target", "resolution")))] == 0.5
    assert samples[("ccdr_desk_sla_met_ratio", (week, ("priority", "P1"), ("target", "response")))] == 1.0
    assert ("ccdr_desk_sla_met_ratio", (week, ("priority", "P2"), ("target", "response"))) not in samples  # none judged
    assert samples[("ccdr_desk_mttr_minutes", (week,))] == 330.0
    assert samples[("ccdr_desk_region_sla_met_ratio", (week, ("region", "north"), ("target", "resolution")))] == 0.5
    assert samples[("ccdr_desk_team_sla_met_ratio", (week, ("target", "response"), ("team", "network")))] == 1.0
    assert samples[("ccdr_desk_p50_minutes", (week, ("priority", "P1"), ("span", "time_to_resolve")))] == 330.0
    assert samples[("ccdr_desk_p50_minutes", (week, ("priority", "P1"), ("span", "first_response")))] == 10.0
    assert samples[("ccdr_desk_kpi_age_seconds", ())] == 12.5
    assert ("ccdr_desk_csat_mean", (week,)) not in samples  # no score: no sample, not a zero
