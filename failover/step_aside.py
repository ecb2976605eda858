"""The failover agent's step-aside loop: observe (ZooKeeper session, the peer's registry record,
a TCP connect to the peer, our Patroni's role), decide by failover.cutoff, and stop or start the
site's serving programs when the posture changes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from core.settings import StepAsideSettings
from failover import registry
from failover.coordination import Coordination, SessionState
from failover.cutoff import Hysteresis, Posture, SiteView, cut_off
from failover.standby import Processes

log = logging.getLogger(__name__)


def reachable(endpoints: Sequence[str], timeout: float) -> bool:
    """True when any endpoint takes a TCP connection within `timeout` (dropped packets time out).
    Probed side by side: one after the other, a cut-off site's probe took a timeout per endpoint."""
    with ThreadPoolExecutor(max_workers=max(1, len(endpoints))) as pool:
        return any(pool.map(lambda endpoint: registry.tcp_reachable(endpoint, timeout), endpoints))


def holds_primary(patroni_view: object) -> bool:
    """A registry record's Patroni view ("primary (running)") names the running primary."""
    return isinstance(patroni_view, str) and patroni_view.split(" ", 1)[0] in ("primary", "master")


class StepAside:
    def __init__(
        self,
        settings: StepAsideSettings,
        coord: Coordination,
        programs: Processes,
        peers: Mapping[str, Sequence[str]],
        local_patroni: Callable[[], str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._coord = coord
        self._programs = programs
        self._peers = peers
        self._local_patroni = local_patroni
        self._clock = clock
        self._hysteresis = Hysteresis(settings.rejoin_after_s)
        # peer -> (its last heartbeat value, when we saw it change; None until we have: a record
        # seen once may be a dead site's whose session has not expired yet)
        self._heard: dict[str, tuple[object, float | None]] = {}
        self.reaches: dict[str, bool] = {}  # our last probe of each peer, published in our record
        self._unreachable_since: dict[str, float] = {}  # peer -> our first failed probe of it in a row
        self._acted: Posture | None = None  # what the programs were last seen to match
        self._announced: Posture | None = None
        self.reason: str | None = None

    @property
    def posture(self) -> Posture:
        return self._hysteresis.posture

    async def tick(self) -> Posture:
        view = await asyncio.to_thread(self._observe)
        reason = cut_off(view, self._settings.peer_fresh_s, self._settings.after_s)
        posture = self._hysteresis.observe(reason, self._clock())
        if posture is not self._acted:
            await asyncio.to_thread(self._act, posture, reason)
        return posture

    def _observe(self) -> SiteView:
        connected = self._coord.state is SessionState.CONNECTED
        records: dict[str, dict[str, Any]] = {}
        if connected:
            try:
                records = self._coord.members(registry.SITES)
            except Exception as exc:  # noqa: BLE001 - unread is "not heard", never a reason to step aside
                log.warning("step-aside: registry unread: %s", exc)
        now = self._clock()
        # One peer in the lab and in production (two data sites); the rule holds per peer.
        peer, endpoints = next(iter(self._peers.items()))
        record = records.get(peer)
        if record is not None:
            beat = record.get("heartbeat_at")
            last = self._heard.get(peer)
            if last is None:
                self._heard[peer] = (beat, None)
            elif last[0] != beat:
                self._heard[peer] = (beat, now)
        changed = self._heard.get(peer, (None, None))[1]
        probed_at = self._clock()  # a failed probe took up to probe_timeout_s: the cut began before it
        self.reaches[peer] = reachable(endpoints, self._settings.probe_timeout_s)
        if self.reaches[peer]:
            self._unreachable_since.pop(peer, None)
        else:
            self._unreachable_since.setdefault(peer, probed_at)
        since = self._unreachable_since.get(peer)
        theirs = (record or {}).get("reaches", {}).get(self._coord.site)
        return SiteView(
            zookeeper_connected=connected,
            peer_unreachable_s=None if since is None else self._clock() - since,
            peer_heard_s=None if changed is None or record is None else now - changed,
            peer_reaches_us=theirs if isinstance(theirs, bool) else None,
            peer_holds_primary=holds_primary(record.get("patroni")) if record else False,
            local_primary=holds_primary(self._local_patroni()),
        )

    def _act(self, posture: Posture, reason: str | None) -> None:
        """Make the programs match the posture; repeated every tick until they do (a program still
        stopping cannot be started yet: the first version left intake stopped after a heal)."""
        names = self._settings.programs
        aside = posture is Posture.STEPPED_ASIDE
        if posture is not self._announced:
            self._announced = posture
            self.reason = reason if aside else None
            if aside:
                log.warning("site %s: stepping aside (%s): stopping %s", self._coord.site, reason, ", ".join(names))
            elif self._acted is not None:
                log.warning("site %s: back in touch: starting %s", self._coord.site, ", ".join(reversed(names)))
        for name in names if aside else list(reversed(names)):  # at the agent's start: only makes sure
            if self._programs.running(name) == aside:
                (self._programs.stop if aside else self._programs.start)(name)
        if all(self._programs.running(name) != aside for name in names):
            self._acted = posture
