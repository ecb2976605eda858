"""`ccdr report scheduler --candidate NAME --out DIR`: the weekly and monthly desk reports, written
by one leader-elected candidate (the `desk-report-scheduler` role, fenced like every singleton:
failover/election.py). Each Monday it writes the week that ended, each 1st the month that ended, as
PDF and HTML into DIR, and records each period once in `desk_report_runs`; a new leader writes
only what is not recorded."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from psycopg_pool import AsyncConnectionPool

from ccdr import desk_report_render
from core.tickets.domain.kpi import DeskReport, compute, parse_period, previous_period
from core.tickets.store.kpi import facts
from failover.candidate import run_candidate
from failover.coordination import Term
from failover.election import Singleton
from failover.fencing import stale_epoch_ends_term
from infra.topology import Topology

log = logging.getLogger(__name__)
ROLE = "desk-report-scheduler"
KINDS = ("week", "month")
POLL_S = 60.0  # reports are per week and month: a minute's delay is nothing


class ReportRuns(Protocol):
    async def written(self, periods: list[str]) -> set[str]: ...

    async def record(self, period: str, kind: str, path: Path, term: Term, scheduler: str) -> bool: ...


class PgReportRuns:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    async def written(self, periods: list[str]) -> set[str]:
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT period FROM desk_report_runs WHERE period = ANY (%s)", (periods,))
            return {row[0] for row in await cur.fetchall()}

    async def record(self, period: str, kind: str, path: Path, term: Term, scheduler: str) -> bool:
        with stale_epoch_ends_term():
            async with self.pool.connection() as conn, conn.transaction():
                await conn.execute("SELECT ccdr_fence(%s, %s, %s)", (term.role, term.epoch, term.holder))
                cur = await conn.execute(
                    """INSERT INTO desk_report_runs (period, kind, path, scheduler, fencing_epoch)
                       VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING""",
                    (period, kind, str(path), scheduler, term.epoch),
                )
                return cur.rowcount == 1


class ReportScheduler:
    """The work of the singleton: per poll, the last complete week and month not written yet."""

    def __init__(
        self,
        name: str,
        runs: ReportRuns,
        report: Callable[[str], Any],  # async: the period's DeskReport
        out_dir: Path,
        zone: ZoneInfo,
        clock: Callable[[], datetime],
        poll_s: float = POLL_S,
    ) -> None:
        self.name, self.runs, self.report, self.out_dir = name, runs, report, out_dir
        self.zone, self.clock, self.poll_s = zone, clock, poll_s
        self._next_poll = float("-inf")

    def due(self) -> Mapping[str, str]:
        """period label -> kind, for the last complete week and month."""
        now = self.clock()
        return {previous_period(kind, now, self.zone): kind for kind in KINDS}

    async def __call__(self, singleton: Singleton) -> None:
        if time.monotonic() < self._next_poll:
            return
        self._next_poll = time.monotonic() + self.poll_s
        due = self.due()
        done = await self.runs.written(list(due))
        for period, kind in due.items():
            if period in done:
                continue
            term = singleton.term
            if term is None or not singleton.may_act():
                return  # lost the role: the next leader writes it
            report: DeskReport = await self.report(period)
            path = await asyncio.to_thread(self._write, report)
            if await self.runs.record(period, kind, path, term, self.name):
                log.info("report scheduler %s: wrote %s (%s)", self.name, period, path)

    def _write(self, report: DeskReport) -> Path:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        stem = self.out_dir / f"desk-{report.period.label}"
        page = desk_report_render.html(report)
        stem.with_suffix(".html").write_text(page)
        pdf = stem.with_suffix(".pdf")
        pdf.write_bytes(desk_report_render.pdf(report, page))
        return pdf


async def serve(topo: Topology, candidate: str, out_dir: Path, zone: ZoneInfo) -> None:
    """Run one candidate until SIGTERM/SIGINT."""

    def make_work(pool: AsyncConnectionPool[Any]) -> ReportScheduler:
        async def report(label: str) -> DeskReport:
            period = parse_period(label, zone)
            async with pool.connection() as conn:
                rows = await facts(conn, period.start, period.end)
            return compute(rows, period, datetime.now(UTC))

        return ReportScheduler(candidate, PgReportRuns(pool), report, out_dir, zone, lambda: datetime.now(UTC))

    await run_candidate(topo, candidate, ROLE, make_work)
