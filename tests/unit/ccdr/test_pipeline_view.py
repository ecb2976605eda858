"""`ccdr tickets pipeline`: figures read from the services' own metrics and HAProxy's rows, and
the verdict on the pipeline's SLO."""

from __future__ import annotations

from prometheus_client import generate_latest

from ccdr.pipeline_view import LaneFigures, PipelineView, SiteFigures, lanes_from
from core.intake.service import IN_FLIGHT, SHED
from core.tickets.kafka.consumer import LAG_EVENTS, LAG_SECONDS
from core.tickets.store.pipeline_slo import SloWindow
from infra.lab import front_door
from infra.lab.probes import parse_metrics


def _scrape() -> SiteFigures:
    text = generate_latest().decode()  # the default registry: the services' real metric objects
    samples = parse_metrics(text)
    return SiteFigures.of("a", samples, samples)


def test_shed_intakes_are_read_per_channel_and_urgency_from_intakes_own_counter() -> None:
    before = _scrape().shed.get(("mobile", "normal"), 0.0)
    SHED.labels("mobile", "normal").inc(3)
    after = _scrape()
    assert after.shed[("mobile", "normal")] == before + 3
    assert after.intake_answered and after.worker_answered


def test_worker_lag_is_the_sum_over_partitions() -> None:
    LAG_EVENTS.labels("0").set(5)
    LAG_EVENTS.labels("1").set(7)
    LAG_SECONDS.set(2.5)
    IN_FLIGHT.set(4)
    figures = _scrape()
    assert figures.lag_events is not None and figures.lag_events >= 12
    assert figures.lag_seconds == 2.5
    assert figures.in_flight == 4


def test_a_site_that_did_not_answer_has_no_figures() -> None:
    figures = SiteFigures.of("b", None, None)
    assert not figures.intake_answered and figures.lag_events is None and figures.shed == {}


def test_lanes_count_what_the_sites_answered_and_what_the_door_refused() -> None:
    rows = [
        {"pxname": front_door.NORMAL_BACKEND, "svname": "FRONTEND", "hrsp_2xx": "999"},
        {"pxname": front_door.NORMAL_BACKEND, "svname": "a", "hrsp_2xx": "10", "hrsp_5xx": "2"},
        {"pxname": front_door.NORMAL_BACKEND, "svname": "b", "hrsp_2xx": "5", "hrsp_4xx": "1"},
        {"pxname": front_door.NORMAL_BACKEND, "svname": "BACKEND", "econ": "40", "qcur": "3"},
        {"pxname": front_door.URGENT_BACKEND, "svname": "a", "hrsp_2xx": "4"},
        {"pxname": front_door.URGENT_BACKEND, "svname": "BACKEND", "econ": "0", "qcur": "0"},
        {"pxname": "tickets_http", "svname": "BACKEND", "econ": "9"},
    ]
    assert lanes_from(rows) == [
        LaneFigures(front_door.NORMAL_BACKEND, 18, 40, 3),
        LaneFigures(front_door.URGENT_BACKEND, 4, 0, 0),
    ]


def _view(within: int, *, lag_events: float = 0, lag_seconds: float = 0.1) -> PipelineView:
    slo = SloWindow(window_s=900, slo_s=10, tickets=100, within=within, p50_s=0.2, p99_s=1.0, max_s=2.0)
    site = SiteFigures("a", True, 0, 100, {}, True, lag_events, lag_seconds)
    return PipelineView([site], [], slo, slo_share=0.99, quarantine_pending=0)


def test_the_slo_is_met_at_its_share_and_breached_below_it() -> None:
    assert _view(99).verdict() == ("met", [])
    verdict, why = _view(98).verdict()
    assert verdict == "breached" and "98.0 %" in why[0]


def test_a_backlog_older_than_the_slo_is_a_breach_even_when_the_committed_tickets_were_on_time() -> None:
    verdict, why = _view(100, lag_events=500, lag_seconds=12.0).verdict()
    assert verdict == "breached" and "12.0 s behind with 500 waiting" in why[0]
    assert _view(100, lag_events=0, lag_seconds=12.0).verdict()[0] == "met"  # caught up: an old figure


def test_without_a_database_nothing_is_claimed() -> None:
    view = PipelineView([SiteFigures.of("a", None, None)], [], None, 0.99, None)
    assert view.verdict()[0] == "unknown"
