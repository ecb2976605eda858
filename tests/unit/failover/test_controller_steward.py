"""The controller steward: a data site's dedicated Kafka controller found leading is restarted, and
only when that leaves a quorum; it waits between looks and never fights the step-aside rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from failover.controller_steward import ControllerSteward, quorum_leader
from tests.fakes import ManualClock
from tests.unit.failover.test_step_aside import Programs

OURS = 101
PROGRAM = "kafka-controller"


def _state(path: Path, leader: int) -> Path:
    path.write_text(json.dumps({"clusterId": "", "leaderId": leader, "leaderEpoch": 7, "votedId": -1}))
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
            clock=self.clock,
        )

    def ticks(self, n: int, every_s: float = 0.5) -> None:
        for _ in range(n):
            self.steward.tick()
            self.clock.now += every_s


@pytest.mark.parametrize(
    ("text", "leader"),
    [
        ('{"leaderId":3,"leaderEpoch":15}', 3),
        ('{"leaderId":-1,"leaderEpoch":16}', None),  # an election under way
        ("{not json", None),
        ("[1, 2]", None),
    ],
)
def test_quorum_leader_reads_the_recorded_leader(tmp_path: Path, text: str, leader: int | None) -> None:
    path = tmp_path / "quorum-state"
    path.write_text(text)
    assert quorum_leader(path) == leader


def test_quorum_leader_of_a_missing_file_is_unknown(tmp_path: Path) -> None:
    assert quorum_leader(tmp_path / "absent") is None


def test_a_leading_controller_is_restarted(tmp_path: Path) -> None:
    world = World(tmp_path, leader=OURS)
    world.ticks(3)
    assert world.programs.calls == [("stop", PROGRAM), ("start", PROGRAM)]
    assert world.programs.state[PROGRAM] == "RUNNING"
    assert world.steward.handovers == 1


def test_a_follower_is_left_alone(tmp_path: Path) -> None:
    world = World(tmp_path, leader=3)
    world.ticks(30)
    assert world.programs.calls == []


def test_it_stays_when_its_restart_would_leave_no_quorum(tmp_path: Path) -> None:
    world = World(tmp_path, leader=OURS)
    world.others_up = False
    world.ticks(30)
    assert world.programs.calls == []


def test_a_start_refused_while_stopping_is_tried_again(tmp_path: Path) -> None:
    world = World(tmp_path, leader=OURS)
    world.programs.stopping_looks = 3  # supervisor still stopping it for three looks
    world.ticks(8)
    assert world.programs.calls[0] == ("stop", PROGRAM)
    assert world.programs.state[PROGRAM] == "RUNNING"
    assert world.steward.handovers == 1


def test_after_a_handover_it_waits_before_looking_again(tmp_path: Path) -> None:
    world = World(tmp_path, leader=OURS)  # the file still names us: the election has not settled
    world.ticks(8)  # 4 s: stop, start, then quiet
    assert world.steward.handovers == 1
    world.ticks(10)  # past look_every_s: it looks again, and the file still says we lead
    assert world.steward.handovers == 2


def test_a_stepped_aside_site_is_left_to_the_step_aside_rule(tmp_path: Path) -> None:
    world = World(tmp_path, leader=OURS)
    world.aside = True
    world.ticks(30)
    assert world.programs.calls == []


def test_stepping_aside_mid_restart_leaves_the_controller_stopped(tmp_path: Path) -> None:
    world = World(tmp_path, leader=OURS)
    world.programs.stopping_looks = 3
    world.ticks(1)  # stopped
    world.aside = True
    world.ticks(10)
    assert world.programs.calls == [("stop", PROGRAM)]
