"""`ccdr serve step-aside`: the step-aside rule on a host without a failover agent (in production,
a Kafka broker's host). It observes what the site's failover agent observes (the ZooKeeper session,
the other site's registry record, a TCP connect to the other site, this site's Patroni) and stops
or starts this host's systemd units by the same rule (failover.cutoff), so a cut-off site's broker
hands its leaders over as the lab's does."""

from __future__ import annotations

import asyncio
import logging
import signal
from functools import partial

from core.settings import GuardSettings
from failover import registry
from failover.controller_steward import controller_steward
from failover.loops import every
from failover.processes import SystemdUnits
from failover.step_aside import StepAside
from failover.zookeeper import site_coordination, start_when_reachable

log = logging.getLogger(__name__)


async def run(settings: GuardSettings) -> None:
    fo = settings.failover
    rule = fo.step_aside
    assert rule is not None  # GuardSettings refuses a file without one
    coord = site_coordination(settings)
    await start_when_reachable(coord, fo.session_timeout_s)
    guard = StepAside(
        rule.model_copy(update={"programs": settings.units}),
        coord,
        SystemdUnits(),
        settings.peer_endpoints,
        lambda: registry.patroni_role(settings.patroni_url, settings.patroni_ca, rule.probe_timeout_s),
    )
    loops = [asyncio.create_task(every(fo.loop_s, guard.tick, "step aside"))]
    rehome = partial(asyncio.to_thread, coord.rehome, rule.probe_timeout_s)
    loops.append(asyncio.create_task(every(fo.rehome_s, rehome, "zookeeper rehome")))
    if (local := settings.kafka_controller) is not None:
        steward = controller_steward(local, SystemdUnits(), lambda: guard.posture, fo, rule.probe_timeout_s)
        loops.append(asyncio.create_task(every(fo.loop_s, partial(asyncio.to_thread, steward.tick), "kafka steward")))
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    log.info("site %s: step-aside guard running for %s", settings.site, ", ".join(settings.units))
    await stop.wait()
    for task in loops:
        task.cancel()
    await asyncio.gather(*loops, return_exceptions=True)
    await asyncio.to_thread(coord.stop)
