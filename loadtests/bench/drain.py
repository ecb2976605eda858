"""`ccdr bench`'s pipeline phases: how fast the ticket workers drain a backlog of real intake events.

This is the ticket pipeline's capacity, apart from intake's HTTP path (which the machine's two cores
cap long before the workers): the workers are stopped, a backlog of intake events is produced to
the intake topic exactly as intake writes them (acks=all, idempotent producer), then the workers of
the chosen sites start and the phase times the tickets' creation. It is what a site loss under load
leaves behind: a backlog the surviving site's worker must work off.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg

from core.intake.domain.schemas import Channel, Contact, IntakeDraft, IntakeEvent
from core.intake.kafka.bus import encode
from core.intake.service import IntakeService
from core.kafka import acknowledged_producer
from infra.lab import secrets as lab_secrets
from infra.lab.layout import LabLayout
from infra.lab.supervise import start_program, stop_program
from infra.topology import Topology
from loadtests.bench.figures import BenchError, DrainRun
from loadtests.bench.phases import PROGRESS_S, console

WORKER = "ticket-worker"
SEND_WINDOW = 2000  # produce sends awaiting acknowledgement at once
POLL_S = 0.5


def portal_intakes(count: int, label: str) -> list[IntakeEvent]:
    """`count` portal intakes, built by intake's own code (IntakeService.build) as it would have
    acknowledged them."""
    service = IntakeService(_NoBus(), site="a")
    now = datetime.now(UTC)
    drafts = [
        IntakeDraft(
            channel=Channel.PORTAL,
            subject=f"{label} #{i}",
            description="a backlog left by a site loss under load (ccdr bench)",
            contact=Contact(phone="0912000000"),
        )
        for i in range(count)
    ]
    return [e for d in drafts for e in service.build([d], receiver="system", idempotency_key=None, now=now)]


class _NoBus:
    """`IntakeService.build` publishes nothing; the bench produces the events itself."""

    async def publish(self, events: Sequence[IntakeEvent]) -> None:
        raise NotImplementedError

    def not_ready(self) -> str | None:
        return None


def survivor_of(topo: Topology, primary: str) -> str:
    """The data site that survives a loss of the primary's site."""
    return next((s for s in topo.data_sites if s != primary), primary)


async def _produce(topo: Topology, backlog: Sequence[IntakeEvent]) -> None:
    producer = acknowledged_producer(
        topo.kafka_bootstrap(), "ccdr-bench-drain", linger_ms=5, auth=lab_secrets.kafka_auth(topo)
    )()
    await producer.start()
    try:
        pending: list[asyncio.Future[Any]] = []
        for event in backlog:
            key, value, headers = encode(event)
            pending.append(await producer.send(topo.kafka.intake_topic, value, key=key, headers=headers))
            if len(pending) >= SEND_WINDOW:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


def _applied(conn: psycopg.Connection[Any], ids: list[uuid.UUID]) -> int:
    row = conn.execute("SELECT count(*) FROM intakes WHERE intake_id = ANY(%s)", (ids,)).fetchone()
    return int(row[0]) if row else 0


def _applied_window(conn: psycopg.Connection[Any], ids: list[uuid.UUID]) -> tuple[datetime, datetime]:
    row = conn.execute(
        "SELECT min(applied_at), max(applied_at) FROM intakes WHERE intake_id = ANY(%s)", (ids,)
    ).fetchone()
    if row is None or row[0] is None:
        raise BenchError("no intake of the backlog was applied")
    return row[0], row[1]


def run_drain(
    topo: Topology, layout: LabLayout, dsn: str, *, events: int, sites: list[str], timeout_s: float
) -> DrainRun:
    """Stop every worker, produce the backlog, start the workers of `sites`, time the tickets."""
    label = "both sites" if len(sites) == len(topo.data_sites) else f"site {', '.join(sites)} alone"
    run_id = uuid.uuid4().hex[:8]
    for site in topo.data_sites:
        stop_program(layout, site, WORKER)
    try:
        backlog = portal_intakes(events, f"bench drain {run_id}")
        ids = [e.intake_id for e in backlog]
        t0 = time.monotonic()
        asyncio.run(_produce(topo, backlog))
        console.print(f"  {events:,} intake events produced in {time.monotonic() - t0:.1f} s; starting {label}")
        started_at = datetime.now(UTC)
        t_start = time.monotonic()
        for site in sites:
            start_program(layout, site, WORKER)
        with psycopg.connect(dsn, autocommit=True) as conn:
            done, next_report = 0, t_start + PROGRESS_S
            while done < events and (now := time.monotonic()) - t_start < timeout_s:
                done = _applied(conn, ids)
                if now >= next_report:
                    console.print(f"  {label} {now - t_start:.0f} s: {done:,} of {events:,} tickets")
                    next_report += PROGRESS_S
                time.sleep(POLL_S)
            done = _applied(conn, ids)
            if done == 0:
                raise BenchError(f"{label}: no ticket of the backlog within {timeout_s:.0f} s")
            first, last = _applied_window(conn, ids)
    finally:
        for site in topo.data_sites:
            start_program(layout, site, WORKER)
    return DrainRun(
        label=label,
        sites=list(sites),
        events=events,
        applied=done,
        first_after_start_s=(first - started_at).total_seconds(),
        drain_s=(last - first).total_seconds(),
        total_s=(last - started_at).total_seconds(),
    )
