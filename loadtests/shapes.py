"""Load shapes: how many users run at each moment. Pure: no locust import, clock injected.

The classes here are mixins holding the curve; the locustfile turns exactly one of them into a
`LoadTestShape` (`class Shape(shapes.StepShape, LoadTestShape)`), chosen by `CCDR_SHAPE`. Keeping
locust out of this module lets pytest test the curves without gevent's monkey-patching, and
keeps the other shapes out of the locustfile's namespace (locust runs the shape class it finds
there, and more than one is ambiguous).

Parameters come from the environment when the shape is built (`CCDR_SHAPE_*`), defaults in brackets:

- `constant`: USERS [20] users, started at SPAWN_RATE [5]/s, for DURATION_S [300].
- `step` (finding the knee): START_USERS [10], plus STEP_USERS [10] every STEP_S [60] s, for
  MAX_STEPS [10] steps, started at SPAWN_RATE [10]/s. Each step is long enough for locust's
  10-s percentile window to settle; `knee.py` reads the steps back from the stats history.
- `spike` (alert storm at the front door): USERS [20] as baseline; at SPIKE_AT_S [60] jump to
  SPIKE_USERS [200] at SPIKE_RATE [100]/s for SPIKE_S [30] s, then back; stop at DURATION_S [180].
- `soak`: ramp to USERS [30] over RAMP_S [600] s, hold until DURATION_S [14400] (4 h).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

log = logging.getLogger(__name__)
ENV_PREFIX = "CCDR_SHAPE_"
SHAPES = ("constant", "step", "spike", "soak")

Tick = tuple[int, float] | None  # (users, spawn rate per second), or None to stop the test
P = TypeVar("P", bound="DataclassInstance")


def _from_env(cls: type[P], env: Mapping[str, str]) -> P:
    """`cls` with each field overridden by CCDR_SHAPE_<FIELD> when set; bad values are refused."""
    values: dict[str, float] = {}
    for f in fields(cls):
        raw = env.get(ENV_PREFIX + f.name.upper())
        if raw is None or not raw.strip():
            continue
        try:
            number = float(raw)
        except ValueError:
            raise ValueError(f"{ENV_PREFIX}{f.name.upper()}={raw!r} is not a number") from None
        if number < 0 or not math.isfinite(number):
            raise ValueError(f"{ENV_PREFIX}{f.name.upper()}={raw!r} must be a finite number >= 0")
        values[f.name] = int(number) if f.type in ("int", int) else number
    return cls(**values)


@dataclass(frozen=True)
class ConstantParams:
    users: int = 20
    spawn_rate: float = 5.0
    duration_s: float = 300.0


@dataclass(frozen=True)
class StepParams:
    start_users: int = 10
    step_users: int = 10
    step_s: float = 60.0
    max_steps: int = 10
    spawn_rate: float = 10.0

    def __post_init__(self) -> None:
        if self.step_s <= 0 or self.max_steps < 1:
            raise ValueError("a step shape needs step_s > 0 and max_steps >= 1")

    def users_in(self, step: int) -> int:
        return self.start_users + step * self.step_users


@dataclass(frozen=True)
class SpikeParams:
    users: int = 20
    spike_users: int = 200
    spike_at_s: float = 60.0
    spike_s: float = 30.0
    spike_rate: float = 100.0
    spawn_rate: float = 10.0
    duration_s: float = 180.0


@dataclass(frozen=True)
class SoakParams:
    users: int = 30
    ramp_s: float = 600.0
    duration_s: float = 14_400.0


def step_of(elapsed_s: float, step_s: float, max_steps: int) -> int:
    """The 0-based step `elapsed_s` falls in; steps are [k*step_s, (k+1)*step_s). `max_steps` means over."""
    if elapsed_s < 0:
        raise ValueError("elapsed time cannot be negative")
    if step_s <= 0:
        raise ValueError("step_s must be positive")
    return min(int(elapsed_s // step_s), max_steps)


def constant_tick(elapsed_s: float, p: ConstantParams) -> Tick:
    return (p.users, p.spawn_rate) if elapsed_s < p.duration_s else None


def step_tick(elapsed_s: float, p: StepParams) -> Tick:
    step = step_of(elapsed_s, p.step_s, p.max_steps)
    return None if step >= p.max_steps else (p.users_in(step), p.spawn_rate)


def spike_tick(elapsed_s: float, p: SpikeParams) -> Tick:
    if elapsed_s >= p.duration_s:
        return None
    if p.spike_at_s <= elapsed_s < p.spike_at_s + p.spike_s:
        return p.spike_users, p.spike_rate
    rate = p.spike_rate if elapsed_s >= p.spike_at_s else p.spawn_rate  # shed the spike as fast as it came
    return p.users, rate


def soak_tick(elapsed_s: float, p: SoakParams) -> Tick:
    if elapsed_s >= p.duration_s:
        return None
    if p.ramp_s <= 0 or elapsed_s >= p.ramp_s:
        return p.users, 1.0
    # Raise the target gradually rather than trusting a tiny spawn rate: the ramp is visible tick by tick.
    return max(1, math.ceil(p.users * elapsed_s / p.ramp_s)), 1.0


class _Shape:
    """A curve with an injected clock: `tick_at(elapsed)` is pure; `tick()` asks locust's clock."""

    if TYPE_CHECKING:  # provided by LoadTestShape in the composed class; not defined here at runtime

        def get_run_time(self) -> float: ...

    def tick_at(self, elapsed_s: float) -> Tick:
        raise NotImplementedError

    def tick(self) -> Tick:
        return self.tick_at(self.get_run_time())


class ConstantShape(_Shape):
    def __init__(self, params: ConstantParams | None = None, env: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.params = params or _from_env(ConstantParams, os.environ if env is None else env)

    def tick_at(self, elapsed_s: float) -> Tick:
        return constant_tick(elapsed_s, self.params)


class StepShape(_Shape):
    def __init__(self, params: StepParams | None = None, env: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.params = params or _from_env(StepParams, os.environ if env is None else env)
        self._step = -1

    def tick_at(self, elapsed_s: float) -> Tick:
        step = step_of(elapsed_s, self.params.step_s, self.params.max_steps)
        if step != self._step and step < self.params.max_steps:
            self._step = step
            log.info("step %d of 0..%d: %d users", step, self.params.max_steps - 1, self.params.users_in(step))
        return step_tick(elapsed_s, self.params)


class SpikeShape(_Shape):
    def __init__(self, params: SpikeParams | None = None, env: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.params = params or _from_env(SpikeParams, os.environ if env is None else env)

    def tick_at(self, elapsed_s: float) -> Tick:
        return spike_tick(elapsed_s, self.params)


class SoakShape(_Shape):
    def __init__(self, params: SoakParams | None = None, env: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.params = params or _from_env(SoakParams, os.environ if env is None else env)

    def tick_at(self, elapsed_s: float) -> Tick:
        return soak_tick(elapsed_s, self.params)


def shape_mixin(name: str) -> type[_Shape] | None:
    """The shape named by CCDR_SHAPE; "" or "none" means no shape (locust's -u/-r/-t apply)."""
    key = name.strip().lower()
    if key in ("", "none"):
        return None
    mixins: dict[str, type[_Shape]] = {
        "constant": ConstantShape,
        "step": StepShape,
        "spike": SpikeShape,
        "soak": SoakShape,
    }
    if key not in mixins:
        raise ValueError(f"CCDR_SHAPE={name!r}: expected one of {', '.join(SHAPES)} or none")
    return mixins[key]


# The channel mix: which personas run, in which proportion (locust user-class weights).

PERSONAS = ("portal", "email", "monitoring", "chat", "hotline", "agent")
DEFAULT_MIX = "portal=40,email=20,monitoring=20,chat=15,hotline=5"


def parse_mix(text: str) -> dict[str, int]:
    """`"portal=40,email=20"` -> a weight per persona; personas not named get 0 (they do not run)."""
    weights = dict.fromkeys(PERSONAS, 0)
    seen: set[str] = set()
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = (s.strip() for s in item.partition("="))
        if not sep or name not in weights:
            raise ValueError(f"mix item {item!r}: expected <persona>=<weight>, persona one of {', '.join(PERSONAS)}")
        if name in seen:
            raise ValueError(f"mix names {name!r} twice")
        if not value.isdigit():
            raise ValueError(f"mix item {item!r}: the weight must be a whole number >= 0")
        seen.add(name)
        weights[name] = int(value)
    if not any(weights.values()):
        raise ValueError(f"mix {text!r} runs no persona: give at least one a weight > 0")
    return weights
