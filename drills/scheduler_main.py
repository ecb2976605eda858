"""`ccdr drill scheduler --candidate NAME`: one candidate of the leader-elected drill scheduler."""

from __future__ import annotations

import asyncio
import getpass
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from psycopg_pool import AsyncConnectionPool

from drills.chaos import probes
from drills.report import Objectives
from drills.runner import DrillOptions, default_objectives, run_drill
from drills.scenarios import PRIMARY_SITE_ALIAS, catalogue
from drills.schedule import Calendar, ScheduledDrill, load_calendar
from drills.schedule_store import PostgresScheduleStore
from drills.scheduler import ROLE, DrillScheduler
from failover.candidate import run_candidate
from infra.topology import Topology

log = logging.getLogger(__name__)


def objectives_for(topo: Topology, drill: ScheduledDrill) -> Objectives:
    """The calendar's targets over the topology's defaults."""
    base = default_objectives(topo)
    t = drill.targets
    return Objectives(
        rpo_max_lost=base.rpo_max_lost if t.rpo_max_lost is None else t.rpo_max_lost,
        rto_s={**base.rto_s, **t.rto_s},
        availability_min=base.availability_min if t.availability_min is None else t.availability_min,
        ticket_slo_s=base.ticket_slo_s,
        ticket_slo_share=base.ticket_slo_share,
    )


async def serve(topo: Topology, candidate: str, calendar_path: Path | None) -> None:
    """Run one candidate until SIGTERM/SIGINT. The caller has validated the calendar once (`ccdr drill
    scheduler` refuses a bad one in one line); a later bad edit is logged by the failing tick."""

    def calendar() -> Calendar:  # re-read every poll: an edited calendar applies without a restart
        return load_calendar(calendar_path, known_scenarios=set(catalogue()) | {PRIMARY_SITE_ALIAS})

    def make_work(pool: AsyncConnectionPool[Any]) -> DrillScheduler:
        return DrillScheduler(
            candidate, calendar, PostgresScheduleStore(pool), steady_state, execute, lambda: datetime.now(UTC)
        )

    async def steady_state() -> bool:
        checks = (probes.lab_converged, probes.intake_acknowledges, probes.agent_can_log_in)
        return all([await asyncio.to_thread(check) for check in checks])

    async def execute(drill: ScheduledDrill) -> str | None:
        options = DrillOptions(
            scenario=drill.scenario,
            duration_s=drill.duration_s,
            load_rps=drill.load_rps,
            operator=f"scheduler {candidate} ({getpass.getuser()})",
            trigger="scheduled",
            objectives=objectives_for(topo, drill),
            abort_rto_s=drill.abort.rto_s if drill.abort else None,
        )
        hook = None
        if drill.load_rps > 0:
            from loadtests.drill_load import LocustLoad

            hook = LocustLoad(topo)
        result = await asyncio.to_thread(run_drill, topo, options, lambda line: log.info("%s", line), hook)
        log.info("scheduler %s: %s finished: %s (%s)", candidate, drill.name, result.report.verdict, result.html)
        return result.report.id

    await run_candidate(topo, candidate, ROLE, make_work)
