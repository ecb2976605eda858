"""The failover agent of one data site (`ccdr serve failover`): it campaigns for the singleton
roles, runs the ones it leads, keeps the cold-standby components where they belong, and
publishes the site's registry record. Each of those is its own loop, so a long SLA-clock scan
never delays a standby decision."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from typing import Any

from psycopg_pool import AsyncConnectionPool

from core.agents.dispatch_worker import Dispatcher
from core.agents.store.pg import PgDispatchStore
from core.database import pool_for
from core.settings import ServiceSettings
from core.tickets.clock_worker import SlaClock
from core.tickets.store.pg import PgClockStore
from failover import registry
from failover.controller_steward import controller_steward
from failover.coordination import DISPATCHER, SLA_CLOCK
from failover.election import Singleton
from failover.fencing import registrar
from failover.loops import every
from failover.presence import PresenceBoard
from failover.processes import SupervisorProcesses
from failover.roles import under_term
from failover.standby import Activation, StandbyController
from failover.step_aside import StepAside
from failover.zookeeper import site_coordination, start_when_reachable

log = logging.getLogger(__name__)


def _recorder(pool: AsyncConnectionPool[Any]) -> Callable[[Activation], Awaitable[None]]:
    async def record(a: Activation) -> None:
        async with pool.connection() as conn:
            await conn.execute(
                """INSERT INTO standby_activations (component, site, previous_site, automatic, reason, operator)
                   VALUES (%s, %s, %s, %s, %s, %s)""",
                (a.component, a.site, a.previous_site, a.automatic, a.reason, a.operator),
            )

    return record


async def run(settings: ServiceSettings) -> None:
    fo = settings.failover
    coord = site_coordination(settings)
    await start_when_reachable(coord, fo.session_timeout_s)
    pool = pool_for(settings, "failover", max_size=4, timeout=5)
    await pool.open(wait=False)
    register = registrar(pool)
    singletons = [
        Singleton(
            SLA_CLOCK,
            settings.site,
            coord,
            register,
            under_term(SlaClock(PgClockStore(pool), fo.sla_clock_batch, timedelta(seconds=fo.sla_clock_horizon_s))),
        ),
        Singleton(
            DISPATCHER,
            settings.site,
            coord,
            register,
            under_term(Dispatcher(PgDispatchStore(pool), PresenceBoard(coord), fo.absent_grace_s, fo.dispatch_batch)),
        ),
    ]
    processes = SupervisorProcesses(settings.supervisor.socket, settings.supervisor.group)
    controllers = [
        StandbyController(name, c.active_site, c.grace_s, coord, processes, _recorder(pool), time.monotonic)
        for name, c in fo.cold.items()
    ]

    step_aside = None
    if fo.step_aside is not None and settings.peer_endpoints:
        probe_s = fo.step_aside.probe_timeout_s
        step_aside = StepAside(
            fo.step_aside,
            coord,
            processes,
            settings.peer_endpoints,
            lambda: registry.patroni_role(settings.patroni_url, settings.patroni_ca, probe_s),
        )

    views: dict[str, Any] = {}  # the last probe of our dependencies (kafka, patroni)
    said: dict[str, Any] = {}  # what our last published record said about stepping aside

    def posture_views() -> dict[str, Any]:
        if step_aside is None:
            return {}
        return {
            "posture": step_aside.posture.value,  # read with failover.cutoff.record_posture
            "posture_reason": step_aside.reason,
            "reaches": dict(step_aside.reaches),  # the other site's rule reads it (failover.cutoff)
        }

    async def publish() -> None:
        told = posture_views()
        cold = {c.component: c.running_here for c in controllers}
        data = registry.record(coord, {s.role: s.term if s.leading else None for s in singletons}, cold, views | told)
        if await asyncio.to_thread(registry.publish, coord, data):
            said.clear()
            said.update(told)

    async def heartbeat() -> None:
        views.update(await registry.site_views(settings.kafka.bootstrap, settings.patroni_url, settings.patroni_ca))
        await publish()

    async def step_aside_tick() -> None:
        assert step_aside is not None
        await step_aside.tick()
        # The other site steps aside on our word that we lost it: say it now, not at the next heartbeat
        # (whose dependency probes wait out their timeouts when a site is cut off). Retried every
        # tick until it is written (no session while ours moves to another ZooKeeper server).
        if posture_views() != said:
            await publish()

    loops = [asyncio.create_task(every(fo.loop_s, s.tick, f"role {s.role}")) for s in singletons]
    if settings.kafka_controller is not None:
        probe_s = fo.step_aside.probe_timeout_s if fo.step_aside is not None else fo.op_timeout_s
        posture = (lambda: step_aside.posture) if step_aside is not None else (lambda: None)
        steward = controller_steward(settings.kafka_controller, processes, posture, fo, probe_s)
        steward_tick = partial(asyncio.to_thread, steward.tick)
        loops.append(asyncio.create_task(every(fo.loop_s, steward_tick, "kafka controller steward")))
    loops += [asyncio.create_task(every(fo.loop_s, c.tick, f"standby {c.component}")) for c in controllers]
    loops.append(asyncio.create_task(every(fo.heartbeat_s, heartbeat, "heartbeat")))
    if step_aside is not None:
        loops.append(asyncio.create_task(every(fo.loop_s, step_aside_tick, "step aside")))
        # A decider of a partition holds its session through its preferred server (the witness's).
        rehome = partial(asyncio.to_thread, coord.rehome, probe_s)
        loops.append(asyncio.create_task(every(fo.rehome_s, rehome, "zookeeper rehome")))
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    log.info("site %s: failover agent running (session timeout %s s)", settings.site, fo.session_timeout_s)
    await stop.wait()
    for task in loops:
        task.cancel()
    await asyncio.gather(*loops, return_exceptions=True)
    for s in singletons:  # a clean stop hands the roles over at once instead of after the session timeout
        with contextlib.suppress(Exception):
            await s.stop()
    await asyncio.to_thread(coord.stop)
    await pool.close()
