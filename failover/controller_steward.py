"""Keeps Kafka's active controller at the witness: a data site whose dedicated controller is found
leading restarts it, and its orderly shutdown hands the quorum's leadership on.

Why: a controller on a data site fences the *other* data site's broker 1 s after a partition
between them (that broker can no longer heartbeat to it), and if that is the side that steps aside,
the side that stays serves nothing until the controller has moved (intake 4-7 s in
`partition-a-b`, docs/drills.md). At the witness, which both sides reach, it fences nobody. Kafka
has no preferred controller: KRaft elects whichever voter asks first, so this moves it by hand, the
way an operator would. A controller that resigns names its most caught-up voters as successors; if
the other data site's wins, its own steward hands it on in turn.

It restarts only a quorum that has been settled for `hold_s`: the same leader and epoch, and both
other voters taking a connection (two are left to elect while ours is down), at every look of
that time. A voter that accepts connections may still be starting or catching up: the first
version restarted b's controller while the witness's Kafka was being restored, on a machine
starved of CPU, and the quorum took 75 s to settle (intake stalled for 25 s). It never acts while
the site is stepped aside (the step-aside rule owns the program then)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

from core.settings import FailoverSettings, LocalKafkaController
from failover import registry
from failover.cutoff import Posture
from failover.standby import Processes

log = logging.getLogger(__name__)


def quorum_leader(quorum_state: Path) -> tuple[int, int] | None:
    """The leader and epoch a KRaft voter last recorded (`quorum-state`, rewritten at every
    election it sees); None when no leader is known, or the file is unreadable or not written yet."""
    try:
        state = json.loads(quorum_state.read_text())
        leader, epoch = state.get("leaderId"), state.get("leaderEpoch")
    except (OSError, ValueError, AttributeError):
        return None
    if not (isinstance(leader, int) and isinstance(epoch, int)) or leader < 0:
        return None
    return leader, epoch


class ControllerSteward:
    """Ticked every failover loop (a restart is finished within a tick or two); it looks at the
    quorum every `look_every_s`."""

    def __init__(
        self,
        programs: Processes,
        program: str,
        node_id: int,
        quorum_state: Path,
        others_up: Callable[[], bool],
        stepped_aside: Callable[[], bool],
        look_every_s: float,
        hold_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._programs = programs
        self._program = program
        self._node_id = node_id
        self._quorum_state = quorum_state
        self._others_up = others_up
        self._stepped_aside = stepped_aside
        self._look_every_s = look_every_s
        self._hold_s = hold_s
        self._clock = clock
        self._restarting = False  # we stopped it: start it again until supervisor says it runs
        self._next_look = 0.0
        self._settled: tuple[tuple[int, int], float] | None = None  # (us, epoch), since when
        self.handovers = 0

    def tick(self) -> None:
        """One step; blocking (supervisor calls, TCP probes): run it in a thread."""
        if self._restarting:
            # Done once it runs; or stepped aside meanwhile: that rule starts it at the rejoin.
            if self._stepped_aside() or self._programs.running(self._program):
                self._restarting = False
            else:  # a no-op while it is still stopping: looked at again next tick
                self._programs.start(self._program)
            return
        now = self._clock()
        if now < self._next_look:
            return
        self._next_look = now + self._look_every_s
        led_s = self._held_lead_s(now)
        if led_s is None or led_s < self._hold_s:
            return
        log.warning(
            "kafka controller %s has led at a data site for %.0f s: restarting it to hand the lead on",
            self._node_id,
            led_s,
        )
        self._programs.stop(self._program)
        self._settled = None
        self._restarting = True
        self.handovers += 1

    def _held_lead_s(self, now: float) -> float | None:
        """How long our controller has led one epoch with every voter up; None while it does not
        (the other voters are probed only while it leads)."""
        seen = quorum_leader(self._quorum_state)
        if seen is None or seen[0] != self._node_id or self._stepped_aside() or not self._others_up():
            self._settled = None
            return None
        if self._settled is None or self._settled[0] != seen:
            self._settled = (seen, now)
        return now - self._settled[1]


def controller_steward(
    local: LocalKafkaController,
    programs: Processes,
    posture: Callable[[], Posture | None],
    failover: FailoverSettings,
    probe_timeout_s: float,
) -> ControllerSteward:
    """The steward of a site's controller, as the failover agent (lab) and the step-aside guard of
    a coordination host (production) run it: `posture` is the site's step-aside posture (None
    without a step-aside rule)."""
    return ControllerSteward(
        programs,
        local.program,
        local.node_id,
        Path(local.quorum_state),
        others_up=lambda: all(registry.tcp_reachable(v, probe_timeout_s) for v in local.other_voters),
        stepped_aside=lambda: posture() is Posture.STEPPED_ASIDE,
        look_every_s=failover.controller_steward_s,
        hold_s=failover.controller_steward_hold_s,
    )
