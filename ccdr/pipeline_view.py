"""What `ccdr tickets pipeline` shows: per site, intake's admission (in flight, shed by channel and
urgency) and the ticket worker's lag; the front door's lanes (what they refused at the door); and
the pipeline's SLO over a recent window, with a verdict. Read from the services' /metrics, HAProxy's
stats socket and the tickets table; nothing is changed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal

import psycopg

from core.tickets.store import held, quarantine
from core.tickets.store.pipeline_slo import SloWindow, slo_window
from infra.lab import front_door, probes
from infra.lab.layout import FRONT_DOOR, LabLayout
from infra.lab.pki import front_door_tls
from infra.lab.probes import Samples, metric_total, scrape_metrics
from infra.lab.render import haproxy_stats_socket
from infra.topology import Topology

SCRAPE_TIMEOUT_S = 2.0  # a site that cannot answer its /metrics in this is shown as not answering


@dataclass(frozen=True)
class SiteFigures:
    site: str
    intake_answered: bool = False
    in_flight: float | None = None
    accepted: float | None = None  # intakes Kafka acknowledged since the process started
    shed: dict[tuple[str, str], float] = field(default_factory=dict)  # (channel, urgency) -> refused
    worker_answered: bool = False
    lag_events: float | None = None
    lag_seconds: float | None = None

    @classmethod
    def of(cls, site: str, intake: Samples | None, worker: Samples | None) -> SiteFigures:
        shed = {}
        if intake is not None:
            for labels, value in intake.get("ccdr_intake_shed_total", []):
                shed[(labels.get("channel", "?"), labels.get("urgency", "?"))] = value
        return cls(
            site=site,
            intake_answered=intake is not None,
            in_flight=metric_total(intake, "ccdr_intake_in_flight") if intake else None,
            accepted=metric_total(intake, "ccdr_intake_events_total") if intake else None,
            shed=shed,
            worker_answered=worker is not None,
            lag_events=metric_total(worker, "ccdr_tickets_consumer_lag_events") if worker else None,
            lag_seconds=metric_total(worker, "ccdr_tickets_consumer_lag_seconds") if worker else None,
        )


@dataclass(frozen=True)
class LaneFigures:
    backend: str
    answered_by_sites: int  # responses the intake servers gave
    refused_at_door: int  # waited past the lane's queue timeout (or no server): 503 from the proxy
    queued_now: int


def lanes_from(rows: list[dict[str, str]]) -> list[LaneFigures]:
    """The intake lanes from HAProxy's `show stat` rows."""
    out = []
    for backend in (front_door.NORMAL_BACKEND, front_door.BUSY_BACKEND, front_door.URGENT_BACKEND):
        mine = [r for r in rows if r.get("pxname") == backend]
        total = next((r for r in mine if r.get("svname") == "BACKEND"), None)
        if total is None:
            continue
        servers = [r for r in mine if r.get("svname") not in ("BACKEND", "FRONTEND")]
        answered = sum(int(r.get(f"hrsp_{c}xx") or 0) for r in servers for c in range(1, 6))
        out.append(LaneFigures(backend, answered, int(total.get("econ") or 0), int(total.get("qcur") or 0)))
    return out


@dataclass(frozen=True)
class PipelineView:
    sites: list[SiteFigures]
    lanes: list[LaneFigures]
    slo: SloWindow | None  # None: the database did not answer
    slo_share: float
    quarantine_pending: int | None
    held_for_ticket: int | None = None  # replies and cleared alerts waiting for their ticket (None: unknown)

    def verdict(self) -> tuple[Literal["met", "breached", "unknown"], list[str]]:
        """breached: the window's share is below the target, or a worker applies intakes older than
        the SLO (a backlog); unknown: nothing to judge by."""
        why = []
        if self.slo is not None and self.slo.tickets and self.slo.share < self.slo_share:
            why.append(
                f"{self.slo.share * 100:.1f} % of tickets within {self.slo.slo_s:g} s "
                f"(objective {self.slo_share * 100:g} %)"
            )
        slo_s = self.slo.slo_s if self.slo is not None else None
        for s in self.sites:
            if slo_s is not None and s.lag_events and s.lag_seconds is not None and s.lag_seconds > slo_s:
                why.append(f"site {s.site}'s worker is {s.lag_seconds:.1f} s behind with {s.lag_events:.0f} waiting")
        if why:
            return "breached", why
        if self.slo is None or (not self.slo.tickets and not any(s.worker_answered for s in self.sites)):
            return "unknown", ["no tickets in the window and no worker answered"]
        return "met", []


async def _database(dsn: str, window_s: float, slo_s: float) -> tuple[SloWindow, int, int]:
    async with await psycopg.AsyncConnection.connect(dsn, connect_timeout=int(SCRAPE_TIMEOUT_S) + 1) as conn:
        return (
            await slo_window(conn, window_s=window_s, slo_s=slo_s),
            await quarantine.pending_count(conn),
            await held.count(conn),
        )


def collect(topo: Topology, dsn: str, *, window_s: float) -> PipelineView:
    sites = []
    for name in topo.data_sites:
        address = topo.sites[name].address
        intake = scrape_metrics(topo.site_url(name, "intake") + "/metrics", SCRAPE_TIMEOUT_S, front_door_tls(topo))
        worker = scrape_metrics(f"http://{address}:{topo.ports.ticket_worker_http}/metrics", SCRAPE_TIMEOUT_S)
        sites.append(SiteFigures.of(name, intake, worker))
    rows: list[dict[str, Any]] = probes.haproxy_stats(haproxy_stats_socket(LabLayout(topo).dirs_of(FRONT_DOOR)))
    slo: SloWindow | None
    try:
        slo, pending, waiting = asyncio.run(_database(dsn, window_s, topo.tickets.slo_s))
    except psycopg.Error:
        slo, pending, waiting = None, None, None
    return PipelineView(sites, lanes_from(rows), slo, topo.tickets.slo_share, pending, waiting)
