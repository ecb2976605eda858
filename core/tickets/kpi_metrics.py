"""The desk's KPIs as Prometheus gauges on the ticket API's /metrics: the current ISO week's
figures (core.tickets.domain.kpi), computed every `refresh_s` in the background and served from
that snapshot, so a scrape never runs the query. `ccdr_desk_kpi_age_seconds` says how old it is (a
database that does not answer leaves the last figures, getting older)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

from core.tickets.domain.kpi import DeskReport, compute, parse_period, week_label
from core.tickets.store.kpi import facts

log = logging.getLogger(__name__)


def current_week(now: datetime, zone: ZoneInfo) -> str:
    return week_label(now.astimezone(zone).date())


def _family(
    name: str, doc: str, labels: list[str], samples: Iterable[tuple[list[str], float | None]]
) -> GaugeMetricFamily:
    """A gauge family of the samples that have a value: nothing to judge is no sample, not a zero."""
    family = GaugeMetricFamily(name, doc, labels=labels)
    for values, value in samples:
        if value is not None:
            family.add_metric(values, value)
    return family


def families(report: DeskReport, age_s: float) -> Iterator[GaugeMetricFamily]:
    period = report.period.label
    received = GaugeMetricFamily("ccdr_desk_received_tickets", "Tickets received this week.", labels=["period"])
    received.add_metric([period], report.received)
    yield received
    yield _family(
        "ccdr_desk_sla_met_ratio",
        "Share of the week's tickets that met the target.",
        ["period", "priority", "target"],
        (
            ([period, p.priority, target], c.share)
            for p in report.by_priority
            for target, c in (("response", p.response_sla), ("resolution", p.resolution_sla))
        ),
    )
    for dimension, response, resolution in (
        ("team", report.response_by_team, report.by_team),
        ("region", report.response_by_region, report.by_region),
    ):
        yield _family(
            f"ccdr_desk_{dimension}_sla_met_ratio",
            f"Share of the week's tickets that met the target, by {dimension}.",
            ["period", dimension, "target"],
            (
                ([period, name, target], judged.share)
                for name, c in resolution.items()
                for target, judged in (("response", response[name]), ("resolution", c))
            ),
        )
    yield _family(
        "ccdr_desk_p50_minutes",
        "Median minutes from receipt to the first response or to the resolution.",
        ["period", "priority", "span"],
        (
            ([period, p.priority, span], t.p50_min)
            for p in report.by_priority
            for span, t in (("first_response", p.first_response), ("time_to_resolve", p.time_to_resolve))
        ),
    )
    single = [
        ("ccdr_desk_first_time_fix_ratio", "Resolved, never reopened, no return visit.", report.first_time_fix.share),
        ("ccdr_desk_mttr_minutes", "Mean time to resolve.", report.mttr_min),
        ("ccdr_desk_csat_mean", "Mean CSAT score (1-5).", report.csat_mean),
        ("ccdr_desk_csat_response_ratio", "Resolved tickets with a CSAT score.", report.csat_response.share),
    ]
    for name, doc, value in single:
        yield _family(name, doc, ["period"], [([period], value)])
    yield _family(
        "ccdr_desk_backlog_tickets",
        "Tickets open now, whenever received, by age.",
        ["period", "age"],
        (([period, age], n) for age, n in report.backlog.items()),
    )
    yield GaugeMetricFamily("ccdr_desk_kpi_age_seconds", "Seconds since these figures were computed.", value=age_s)


Connect = Callable[[], Awaitable[psycopg.AsyncConnection[Any]]]


class DeskGauges(Collector):
    """The figures are worked out in a thread of their own, on a connection of their own: for a
    week of ~140,000 tickets (the lab after a day of drills) reading the facts and computing took
    ~12 s of the ticket API's event loop every minute, and the front door, whose check's TLS
    handshake waited on that loop, took both sites out and refused agents' sign-ins."""

    def __init__(self, connect: Connect, zone: ZoneInfo, refresh_s: float) -> None:
        self._connect, self._zone, self._refresh_s = connect, zone, refresh_s
        self._report: DeskReport | None = None
        self._at = 0.0

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self._report is not None:
            yield from families(self._report, time.monotonic() - self._at)

    async def refresh(self) -> None:
        # A loop of its own in a worker thread: the service's loop only sees the GIL's hand-over.
        report = await asyncio.to_thread(asyncio.run, self._work_out())
        self._report, self._at = report, time.monotonic()

    async def _work_out(self) -> DeskReport:
        now = datetime.now(UTC)
        period = parse_period(current_week(now, self._zone), self._zone)
        async with await self._connect() as conn:
            rows = await facts(conn, period.start, period.end)
        return compute(rows, period, now)

    async def run(self) -> None:
        REGISTRY.register(self)
        try:
            while True:
                try:
                    await self.refresh()
                except Exception as exc:  # noqa: BLE001 - the figures get older; the API goes on
                    log.warning("desk KPIs not refreshed: %s", exc)
                await asyncio.sleep(self._refresh_s)
        finally:
            REGISTRY.unregister(self)
