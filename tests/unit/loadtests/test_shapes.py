"""Load shapes on an injected clock, their parameters from the environment, and the channel mix."""

from __future__ import annotations

import pytest

from loadtests import shapes
from loadtests.shapes import (
    ConstantParams,
    SoakParams,
    SpikeParams,
    StepParams,
    StepShape,
    parse_mix,
    shape_mixin,
    step_of,
)


@pytest.mark.parametrize(
    ("elapsed", "step"),
    [(0.0, 0), (59.999, 0), (60.0, 1), (60.001, 1), (119.9, 1), (540.0, 9), (599.99, 9), (600.0, 10), (10_000, 10)],
)
def test_step_of_half_open_steps_clamped_past_the_end(elapsed: float, step: int) -> None:
    assert step_of(elapsed, 60, 10) == step


def test_step_of_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        step_of(-0.1, 60, 10)
    with pytest.raises(ValueError):
        step_of(1, 0, 10)


class Clocked(StepShape):
    """The mixin with a hand-set clock instead of locust's."""

    elapsed = 0.0

    def get_run_time(self) -> float:
        return self.elapsed


def test_step_shape_adds_users_each_step_then_stops() -> None:
    shape = Clocked(StepParams(start_users=5, step_users=10, step_s=30, max_steps=3, spawn_rate=20))
    seen = []
    for t in (0, 29.9, 30, 61, 89.9, 90):
        shape.elapsed = t
        seen.append(shape.tick())
    assert seen == [(5, 20), (5, 20), (15, 20), (25, 20), (25, 20), None]


def test_constant_spike_and_soak_curves() -> None:
    assert shapes.constant_tick(0, ConstantParams(7, 2, 10)) == (7, 2)
    assert shapes.constant_tick(10, ConstantParams(7, 2, 10)) is None
    spike = SpikeParams(users=20, spike_users=200, spike_at_s=60, spike_s=30, spike_rate=100, spawn_rate=10)
    assert [shapes.spike_tick(t, spike) for t in (0, 59.9, 60, 89.9, 90, 179.9, 180)] == [
        (20, 10),
        (20, 10),
        (200, 100),
        (200, 100),
        (20, 100),
        (20, 100),
        None,
    ]
    soak = SoakParams(users=30, ramp_s=600, duration_s=3600)
    assert [shapes.soak_tick(t, soak) for t in (0, 20, 300, 600, 3599, 3600)] == [
        (1, 1.0),
        (1, 1.0),
        (15, 1.0),
        (30, 1.0),
        (30, 1.0),
        None,
    ]


def test_parameters_come_from_ccdr_shape_variables() -> None:
    env = {"CCDR_SHAPE_START_USERS": "50", "CCDR_SHAPE_STEP_S": "45.5", "CCDR_SHAPE_MAX_STEPS": "4", "OTHER": "x"}
    shape = StepShape(env=env)
    assert shape.params == StepParams(start_users=50, step_s=45.5, max_steps=4)
    assert StepShape(env={}).params == StepParams()


@pytest.mark.parametrize("value", ["ten", "-1", "nan", "inf"])
def test_bad_shape_variables_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="CCDR_SHAPE_STEP_USERS"):
        StepShape(env={"CCDR_SHAPE_STEP_USERS": value})


def test_shape_names() -> None:
    assert shape_mixin("") is None and shape_mixin("none") is None
    assert shape_mixin(" Step ") is StepShape
    with pytest.raises(ValueError, match="expected one of"):
        shape_mixin("ramp")


def test_mix_parses_weights_and_unnamed_personas_do_not_run() -> None:
    assert parse_mix(shapes.DEFAULT_MIX) == {
        "portal": 40,
        "email": 20,
        "monitoring": 20,
        "chat": 15,
        "hotline": 5,
        "agent": 0,  # agents' work is measured on request (agent=N), apart from intake's capacity
    }
    assert parse_mix(" monitoring = 3 , chat=1 ") == {
        "portal": 0,
        "email": 0,
        "monitoring": 3,
        "chat": 1,
        "hotline": 0,
        "agent": 0,
    }


@pytest.mark.parametrize("text", ["", "portal=0", "fax=3", "portal", "portal=1,portal=2", "portal=-1", "portal=1.5"])
def test_mix_refuses_what_it_cannot_run(text: str) -> None:
    with pytest.raises(ValueError):
        parse_mix(text)
