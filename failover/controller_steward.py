"""Keeps Kafka's active controller at the witness: a data site whose dedicated controller is found
leading restarts it, and its orderly shutdown hands the quorum's leadership on.

Why: a controller on a data site fences the *other* data site's broker 1 s after a partition
between them (that broker can no longer heartbeat to it), and if that is the side that steps aside,
the side that stays serves nothing until the controller has moved (intake 4-7 s in
`partition-a-b`, docs/drills.md). At the witness, which both sides reach, it fences nobody. Kafka
has no preferred controller: KRaft elects whichever voter asks first, so this moves it by hand, the
way an operator would. A controller that resigns names its most caught-up voters as successors; if
the other data site's wins, its own steward hands it on in turn.

It restarts only when both other voters take a connection (a quorum of two is left while ours is
down) and never while the site is stepped aside (the step-aside rule owns the program then)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

from failover.standby import Processes

log = logging.getLogger(__name__)


def quorum_leader(quorum_state: Path) -> int | None:
    """The leader a KRaft voter last recorded (`quorum-state`, rewritten at every election it sees);
    None when unknown, unreadable or not written yet."""
    try:
        leader = json.loads(quorum_state.read_text()).get("leaderId")
    except (OSError, ValueError, AttributeError):
        return None
    return leader if isinstance(leader, int) and leader >= 0 else None


class ControllerSteward:
    """Ticked every failover loop (a restart is finished within a tick or two); it reads the
    quorum state only every `look_every_s`, and not again that soon after a hand-over, while the
    election and the voters' files settle."""

    def __init__(
        self,
        programs: Processes,
        program: str,
        node_id: int,
        quorum_state: Path,
        others_up: Callable[[], bool],
        stepped_aside: Callable[[], bool],
        look_every_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._programs = programs
        self._program = program
        self._node_id = node_id
        self._quorum_state = quorum_state
        self._others_up = others_up
        self._stepped_aside = stepped_aside
        self._look_every_s = look_every_s
        self._clock = clock
        self._restarting = False  # we stopped it: start it again until supervisor says it runs
        self._next_look = 0.0
        self.handovers = 0

    def tick(self) -> None:
        """One step; blocking (supervisor calls, TCP probes): run it in a thread."""
        if self._restarting:
            if self._stepped_aside():  # the step-aside rule stopped it, and starts it at the rejoin
                self._restarting = False
            elif self._programs.running(self._program):
                self._restarting = False
                self._next_look = self._clock() + self._look_every_s
            else:  # a no-op while it is still stopping: looked at again next tick
                self._programs.start(self._program)
            return
        if self._clock() < self._next_look:
            return
        self._next_look = self._clock() + self._look_every_s
        if self._stepped_aside() or quorum_leader(self._quorum_state) != self._node_id:
            return
        if not self._others_up():
            log.info("kafka controller %s leads; the other voters are not all up, so it stays", self._node_id)
            return
        log.warning("kafka controller %s leads at a data site: restarting it to hand the lead on", self._node_id)
        self._programs.stop(self._program)
        self._restarting = True
        self.handovers += 1
