"""The controller steward: a data site's dedicated Kafka controller found leading is restarted, only
once the quorum has kept that leader, with every voter up, for the hold; it never fights the
step-aside rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from failover.controller_steward import ControllerSteward, quorum_leader
from tests.fakes import ManualClock
from tests.unit.failover.test_step_aside import Programs

OURS = 101
PROGRAM = "kafka-controller"
HOLD_S = 60


def _state(path: Path, leader: int, epoch: int = 7) -> Path:
    path.write_text(json.dumps({"clusterId": "", "leaderId": leader, "leaderEpoch": epoch, "votedId": -1}))
    return path


class World:
    def __init__(self, tmp_path: Path, leader: int) -> None:
        self.clock = ManualClock()
        self.programs = Programs()
        self.programs.state[PROGRAM] = "RUNNING"
        self.quorum_state = _state(tmp_path / "quorum-state", leader)
        self.others_up = True
        self.aside = False
        self.steward = ControllerSteward(
            self.programs,
            PROGRAM,
            OURS,
            self.quorum_state,
            others_up=lambda: self.others_up,
            stepped_aside=lambda: self.aside,
            look_every_s=5,
            hold_s=HOLD_S,
            clock=self.clock,
        )

    def ticks(self, n: int, every_s: float = 0.5) -> None:
        for _ in range(n):
            self.steward.tick()
            self.clock.now += every_s


@pytest.mark.parametrize(
    ("text", "leader"),
    [
        ('{"leaderId":3,"leaderEpoch":15}', (3, 15)),
        ('{"leaderId":-1,"leaderEpoch":16}', None),  # an election under way
        ("{not json", None),
        ("[1, 2]", None),
    ],
)
def test_quorum_leader_reads_the_recorded_leader(tmp_path: Path, text: str, leader: tuple[int, int] | None) -> None:
    path = tmp_path / "quorum-state"
    path.write_text(text)
    assert quorum_leader(path) == leader


def test_quorum_leader_of_a_missing_file_is_unknown(tmp_path: Path) -> None:
    assert quorum_leader(tmp_path / "absent") is None


def test_a_leader_held_for_the_hold_is_restarted(tmp_path: Path) -> None:
    world = World(tmp_path, leader=OURS)
    world.ticks(int(HOLD_S / 0.5) - 1)  # just short of the hold
    assert world.programs.calls == []
    world.ticks(12)  # the next look, then the restart
    assert world.programs.calls == [("stop", PROGRAM), ("start", PROGRAM)]
    assert world.programs.state[PROGRAM] == "RUNNING"
    assert world.steward.handovers == 1


def test_a_follower_is_left_alone(tmp_path: Path) -> None:
    world = World(tmp_path, leader=3)
    world.ticks(400)
    assert world.programs.calls == []


def test_a_new_epoch_starts_the_hold_again(tmp_path: Path) -> None:
    world = World(tmp_path, leader=OURS)
    world.ticks(100)  # 50 s
    _state(world.quorum_state, OURS, epoch=8)  # re-elected: the quorum moved meanwhile
    world.ticks(100)  # 100 s in all, 50 s of them on the new epoch
    assert world.programs.calls == []
    world.ticks(40)
    assert world.steward.handovers == 1


def test_a_voter_down_at_any_look_starts_the_hold_again(tmp_path: Path) -> None:
    world = World(tmp_path, leader=OURS)
    world.ticks(100)
    world.others_up = False  # the witness restarting: its restart would leave no quorum either
    world.ticks(10)
    world.others_up = True
    world.ticks(100)  # 50 s up again: not yet
    assert world.programs.calls == []
    world.ticks(40)
    assert world.steward.handovers == 1


def test_it_stays_while_its_restart_would_leave_no_quorum(tmp_path: Path) -> None:
    world = World(tmp_path, leader=OURS)
    world.others_up = False
    world.ticks(400)
    assert world.programs.calls == []


def test_a_start_refused_while_stopping_is_tried_again(tmp_path: Path) -> None:
    world = World(tmp_path, leader=OURS)
    world.programs.stopping_looks = 3  # supervisor still stopping it for three looks
    world.ticks(140)
    assert world.programs.calls[0] == ("stop", PROGRAM)
    assert world.programs.state[PROGRAM] == "RUNNING"
    assert world.steward.handovers == 1


def test_after_a_handover_a_file_still_naming_it_waits_a_whole_hold(tmp_path: Path) -> None:
    world = World(tmp_path, leader=OURS)  # the file still names us: the election has not settled
    world.ticks(130)
    assert world.steward.handovers == 1
    world.ticks(100)
    assert world.steward.handovers == 1
    world.ticks(40)
    assert world.steward.handovers == 2


def test_a_stepped_aside_site_is_left_to_the_step_aside_rule(tmp_path: Path) -> None:
    world = World(tmp_path, leader=OURS)
    world.aside = True
    world.ticks(400)
    assert world.programs.calls == []


def test_stepping_aside_mid_restart_leaves_the_controller_stopped(tmp_path: Path) -> None:
    world = World(tmp_path, leader=OURS)
    world.programs.stopping_looks = 3
    world.ticks(121)  # the hold, then the stop (at the 121st tick)
    assert world.programs.calls == [("stop", PROGRAM)]
    world.aside = True
    world.ticks(10)
    assert world.programs.calls == [("stop", PROGRAM)]
