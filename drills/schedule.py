"""The drill calendar: when scheduled failover drills run, and the guardrails that decide whether one does.

Pure: parsing and validation, and arithmetic on times the caller passes in. No clock reads, and no I/O
beyond reading the calendar file in `load_calendar`. The executor (elsewhere) owns the clock, the record
of what fired and the probes; it asks `decide` what to do and does it.

Cron expressions are classic 5-field ones (minute hour day month weekday, as croniter reads them,
including `L` for the last day of the month and `2#1` for the first Tuesday) evaluated as wall-clock
times in the calendar's `timezone`. Every datetime taken or returned is timezone-aware; naive ones are
refused with ValueError. Durations (catch-up, blackout windows, abort) are measured in real elapsed time.
"""

from __future__ import annotations

import heapq
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter
from pydantic import (
    AwareDatetime,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from drills.model import Frozen

DEFAULT_CALENDAR = Path(__file__).with_name("calendar.toml")

_SLUG = r"^[a-z0-9][a-z0-9._-]*$"
_CRON_FIELDS = "minute hour day month weekday"
_CRON_PROBE_BASE = datetime(2000, 1, 1, tzinfo=UTC)  # fixed, so validation never reads the clock

Slug = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_SLUG)]
PositiveSeconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class CalendarError(ValueError):
    """The calendar file is missing, unparsable or invalid. One line naming the file, the entry and the field."""


def _check_cron(value: str | None) -> str | None:
    if value is None:
        return None
    fields = value.split()
    if len(fields) != 5:
        raise ValueError(f"{value!r} has {len(fields)} fields; want 5 ({_CRON_FIELDS})")
    if not croniter.is_valid(value):
        raise ValueError(f"{value!r} is not a valid cron expression ({_CRON_FIELDS})")
    try:
        croniter(value, _CRON_PROBE_BASE).get_next(datetime)
    except CroniterError:
        raise ValueError(f"{value!r} never fires") from None
    return value


class Targets(Frozen):
    """A drill's objectives. Anything left out (None, or a capability missing from `rto_s`) uses the scenario's."""

    rpo_max_lost: int | None = Field(default=None, ge=0)  # acknowledged intakes allowed to be lost
    availability_min: float | None = Field(default=None, ge=0, le=1)  # share of canary intakes acknowledged
    rto_s: dict[Slug, PositiveSeconds] = Field(default_factory=dict)  # capability -> target seconds


class Abort(Frozen):
    """When to abort a drill and roll back: intake not back within `rto_s` seconds of the fault."""

    rto_s: PositiveSeconds


class ScheduledDrill(Frozen):
    name: Slug  # unique in the calendar; the key of the executor's last-fired record
    scenario: Slug  # e.g. site-loss-a
    cron: str  # when it fires, in the calendar's timezone
    duration_s: int = Field(ge=30, le=3600)  # how long the fault is held
    load_rps: float = Field(default=0, ge=0, allow_inf_nan=False)  # background load on top of the canary
    targets: Targets = Field(default_factory=Targets)
    abort: Abort | None = None  # None: never abort early

    _valid_cron = field_validator("cron")(_check_cron)

    @field_validator("scenario")
    @classmethod
    def _known_scenario(cls, value: str, info: ValidationInfo) -> str:
        known: Collection[str] | None = (info.context or {}).get("known_scenarios")
        if known is not None and value not in known:
            raise ValueError(f"unknown scenario {value!r}; known: {', '.join(sorted(known))}")
        return value

    @model_validator(mode="after")
    def _abort_not_before_target(self) -> ScheduledDrill:
        intake = self.targets.rto_s.get("intake")
        if self.abort is not None and intake is not None and self.abort.rto_s < intake:
            raise ValueError(
                f"abort.rto_s: {self.abort.rto_s:g} s is shorter than the intake RTO target {intake:g} s; "
                "the drill would be aborted before it could miss its target"
            )
        return self


class Blackout(Frozen):
    """A time when no drill runs. Either periodic (a window of `duration_h` hours starting at every `cron`
    fire time) or fixed (`start` inclusive to `end` exclusive), never both."""

    name: str = Field(min_length=1, max_length=120)
    cron: str | None = None
    duration_h: float | None = Field(default=None, gt=0, le=24 * 366, allow_inf_nan=False)
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None

    _valid_cron = field_validator("cron")(_check_cron)

    @model_validator(mode="after")
    def _one_form(self) -> Blackout:
        periodic = self.cron is not None or self.duration_h is not None
        fixed = self.start is not None or self.end is not None
        if periodic and fixed:
            raise ValueError("give either cron + duration_h or start + end, not both")
        if periodic:
            if self.cron is None:
                raise ValueError("cron: missing (duration_h needs a cron)")
            if self.duration_h is None:
                raise ValueError("duration_h: missing (cron needs a duration_h)")
        elif fixed:
            if self.start is None:
                raise ValueError("start: missing (end needs a start)")
            if self.end is None:
                raise ValueError("end: missing (start needs an end)")
            if self.end <= self.start:
                raise ValueError(f"end: {self.end.isoformat()} is not after start {self.start.isoformat()}")
        else:
            raise ValueError("give either cron + duration_h or start + end")
        return self

    def covers(self, at: datetime, tz: ZoneInfo) -> bool:
        """Whether `at` is inside this blackout; cron fire times are read in `tz`."""
        _require_aware(at, "at")
        if self.cron is not None and self.duration_h is not None:
            fire = _utc(_latest_fire(self.cron, tz, at))
            return _utc(at) < fire + timedelta(hours=self.duration_h)
        assert self.start is not None and self.end is not None  # guaranteed by _one_form
        return _utc(self.start) <= _utc(at) < _utc(self.end)


class Calendar(Frozen):
    """The whole calendar. In TOML the lists are `[[drill]]` and `[[blackout]]` tables."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True)

    timezone: str  # IANA name; cron expressions are wall-clock times here
    max_catch_up_s: int = Field(default=3600, ge=60, le=7 * 86400)  # a drill missed by more is skipped
    drills: tuple[ScheduledDrill, ...] = Field(default=(), alias="drill")
    blackouts: tuple[Blackout, ...] = Field(default=(), alias="blackout")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as 'Asia/Ho_Chi_Minh'") from None
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> Calendar:
        for kind, names in (("drill", [d.name for d in self.drills]), ("blackout", [b.name for b in self.blackouts])):
            seen: dict[str, int] = {}
            for i, name in enumerate(names, start=1):
                if name in seen:
                    raise ValueError(f"{kind} #{i} {name!r}: name: duplicate {kind} name (also {kind} #{seen[name]})")
                seen[name] = i
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def drill(self, name: str) -> ScheduledDrill:
        for d in self.drills:
            if d.name == name:
                return d
        raise KeyError(f"no drill named {name!r}; known: {', '.join(d.name for d in self.drills)}")


# -- loading --------------------------------------------------------------------------------------


def parse_calendar(text: str, source: str = "<string>", *, known_scenarios: Collection[str] | None = None) -> Calendar:
    """Parse and validate calendar TOML. `known_scenarios`, when given, is the set of scenario names allowed."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CalendarError(f"{source}: not valid TOML: {exc}") from None
    try:
        return Calendar.model_validate(raw, context={"known_scenarios": known_scenarios})
    except ValidationError as exc:
        raise CalendarError(f"{source}: {_first_error(exc, raw)}") from None


def load_calendar(path: Path | None = None, *, known_scenarios: Collection[str] | None = None) -> Calendar:
    """Load a calendar file; None loads the one shipped with ccdr (`drills/calendar.toml`)."""
    path = path or DEFAULT_CALENDAR
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CalendarError(f"{path}: cannot read calendar: {exc.strerror}") from None
    return parse_calendar(text, str(path), known_scenarios=known_scenarios)


def _first_error(exc: ValidationError, raw: Mapping[str, Any]) -> str:
    """One line for a person: the entry (`drill #2 'name'`), the dotted field, why, and how many more."""
    first = exc.errors()[0]
    loc = list(first["loc"])
    entry = ""
    if len(loc) >= 2 and loc[0] in ("drill", "drills", "blackout", "blackouts") and isinstance(loc[1], int):
        kind = "drill" if str(loc[0]).startswith("drill") else "blackout"
        index = loc[1]
        entry = f"{kind} #{index + 1}"
        items = raw.get(str(loc[0]))
        if isinstance(items, list) and index < len(items) and isinstance(items[index], dict):
            name = items[index].get("name")
            if isinstance(name, str) and name:
                entry += f" {name!r}"
        loc = loc[2:]
    field = ".".join(str(p) for p in loc)
    kind_of_error = first["type"]
    if kind_of_error == "extra_forbidden":
        msg = "unknown key"
    elif kind_of_error == "missing":
        msg = "missing (required)"
    else:
        msg = first["msg"].removeprefix("Value error, ")
        value = first.get("input")
        if kind_of_error != "value_error" and isinstance(value, str | int | float | datetime):
            msg += f" (got {value!r})"
    msg = " ".join(msg.split())
    where = ": ".join(p for p in (entry, field) if p)
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {msg}{more}" if where else f"{msg}{more}"


# -- time arithmetic --------------------------------------------------------------------------------


def _require_aware(at: datetime, what: str) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got naive {at.isoformat()}")


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


def _latest_fire(cron: str, tz: ZoneInfo, at: datetime) -> datetime:
    """The latest fire time <= `at`, in `tz`. (croniter's get_prev is strict, so start one second on.)"""
    base = at.astimezone(tz).replace(microsecond=0) + timedelta(seconds=1)
    fire: datetime = croniter(cron, base).get_prev(datetime)
    return _utc(fire).astimezone(tz)  # normalised: croniter may leave fold=1 on an unambiguous time


def _fires_after(cron: str, tz: ZoneInfo, after: datetime) -> croniter:
    """An iterator whose get_next yields the fire times strictly after `after`, in `tz`."""
    return croniter(cron, after.astimezone(tz).replace(microsecond=0))


def _stamp(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _span(delta: timedelta) -> str:
    """A duration for people: the two largest units, e.g. '2 h', '1 h 30 min', '45 s'."""
    total = max(0, int(delta.total_seconds()))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if total >= size:
            parts.append(f"{total // size} {unit}")
            total %= size
    return " ".join(parts[:2]) or "0 s"


# -- the calendar's questions ------------------------------------------------------------------------


def in_blackout(cal: Calendar, at: datetime) -> Blackout | None:
    """The first blackout (in calendar order) that covers `at`, or None.

    A cron blackout covers `[fire, fire + duration_h)` for each fire time; checking the latest fire <= `at`
    is enough, since a later fire's window ends later than an earlier one's.
    """
    _require_aware(at, "at")
    tz = cal.tz
    for blackout in cal.blackouts:
        if blackout.covers(at, tz):
            return blackout
    return None


@dataclass(frozen=True, slots=True)
class Upcoming:
    drill: ScheduledDrill
    at: datetime  # the fire time, aware, in the calendar's timezone
    blackout: Blackout | None  # not None: the drill would be skipped for this blackout


def upcoming(cal: Calendar, now: datetime, count: int) -> list[Upcoming]:
    """The next `count` fire times strictly after `now`, across all drills, earliest first.

    Ties (two drills firing at the same minute) keep calendar order. Each entry says which blackout,
    if any, would make the drill be skipped.
    """
    _require_aware(now, "now")
    if count <= 0 or not cal.drills:
        return []
    tz = cal.tz
    iters = [_fires_after(d.cron, tz, now) for d in cal.drills]
    heap: list[tuple[datetime, int, datetime]] = []
    for i, it in enumerate(iters):
        at = _utc(it.get_next(datetime)).astimezone(tz)
        heap.append((_utc(at), i, at))
    heapq.heapify(heap)
    out: list[Upcoming] = []
    while len(out) < count:
        _, i, at = heapq.heappop(heap)
        out.append(Upcoming(drill=cal.drills[i], at=at, blackout=in_blackout(cal, at)))
        nxt = _utc(iters[i].get_next(datetime)).astimezone(tz)
        heapq.heappush(heap, (_utc(nxt), i, nxt))
    return out


Action = Literal["run", "skip", "wait", "check"]


@dataclass(frozen=True, slots=True)
class Decision:
    """What the executor should do now.

    - "run": run `drill` (its fire time is `due_at`), then record it as fired.
    - "check": `drill` is due and nothing blocks it; probe steady state, then call `decide` again with the result.
    - "skip": do not run `drill`, but record it as fired all the same (`reason` says why), then call again.
    - "wait": nothing is due. `drill` and `due_at` are the next fire (None when the calendar has no drills);
      sleep until then, or until the next poll, and call again.
    """

    action: Action
    drill: ScheduledDrill | None
    due_at: datetime | None  # aware, in the calendar's timezone
    reason: str  # one line, for the log and the ledger
    blackout: Blackout | None = None  # set when skipped for a blackout


def decide(
    cal: Calendar,
    now: datetime,
    *,
    last_fired: Mapping[str, datetime],
    drill_running: bool,
    steady_state_ok: bool | None,
) -> Decision:
    """Whether to run a scheduled drill now. Pure: the executor supplies the clock and the record.

    Due: a drill is due when its latest cron fire time <= `now` is later than `last_fired[drill.name]`.
    Only the latest fire counts: several missed fires of one drill are one decision, not a backlog.
    A drill with no `last_fired` entry (first start, or newly added) is due only when that latest fire is
    within `max_catch_up_s` of `now`; older fires are history, not debt, so a fresh scheduler does not
    run ancient drills. Of several due drills the earliest fire wins (ties: calendar order).

    Guardrails, in order, each giving "skip":
      1. missed: the fire is more than `max_catch_up_s` before `now` (the scheduler was down) -- never late;
      2. blackout: the fire time, or `now`, is inside a blackout;
      3. a drill is already running (`drill_running`);
      4. steady state is already failing (`steady_state_ok` False): a drill would measure the wrong thing.

    Two calls per drill: first with `steady_state_ok=None` ("not probed yet"). If the earliest due drill
    passes guardrails 1-3 the answer is "check": the executor probes steady state and calls again with
    the result (True or False), getting "run" or "skip". The second call re-evaluates everything (the probe
    took time); act on whatever it returns. With `steady_state_ok` given but nothing due, the answer is "wait".

    Recording: after "run" AND after "skip" the executor must record `last_fired[drill.name] = due_at`
    (any time >= due_at works too). A skipped drill counts as fired; otherwise it would stay due and be
    decided again on every poll. Then call `decide` again: another drill may be due too.
    """
    _require_aware(now, "now")
    tz = cal.tz
    now_utc = _utc(now)
    catch_up = timedelta(seconds=cal.max_catch_up_s)

    due: list[tuple[datetime, int, datetime]] = []
    for i, drill in enumerate(cal.drills):
        fire = _latest_fire(drill.cron, tz, now)
        last = last_fired.get(drill.name)
        if last is None:
            if now_utc - _utc(fire) > catch_up:
                continue
        else:
            _require_aware(last, f"last_fired[{drill.name!r}]")
            if _utc(fire) <= _utc(last):
                continue
        due.append((_utc(fire), i, fire))

    if not due:
        nxt = upcoming(cal, now, 1)
        if not nxt:
            return Decision("wait", None, None, "nothing due: the calendar has no drills")
        u = nxt[0]
        return Decision("wait", u.drill, u.at, f"nothing due; next {u.drill.name} at {_stamp(u.at, tz)}")

    _, i, fire = min(due)
    drill = cal.drills[i]
    head = f"{drill.name} due {_stamp(fire, tz)}"

    def skip(why: str, blackout: Blackout | None = None) -> Decision:
        return Decision("skip", drill, fire, f"{head}: skipped, {why}", blackout)

    late = now_utc - _utc(fire)
    if late > catch_up:
        return skip(f"missed by {_span(late)} > max catch-up {_span(catch_up)}")
    blackout = in_blackout(cal, fire) or in_blackout(cal, now)
    if blackout is not None:
        return skip(f"blackout {blackout.name!r}", blackout)
    if drill_running:
        return skip("a drill is already running")
    if steady_state_ok is None:
        return Decision("check", drill, fire, f"{head}: probe steady state before running {drill.scenario}")
    if not steady_state_ok:
        return skip("steady state already failing")
    return Decision("run", drill, fire, f"{head}: run {drill.scenario} for {drill.duration_s} s")


def abort_due(started_at: datetime, now: datetime, intake_recovered: bool, abort: Abort | None) -> bool:
    """Whether to abort a running drill and roll back: intake is still not back `abort.rto_s` seconds after
    the fault was injected at `started_at`. Never with no abort rule, and never once intake has recovered."""
    if abort is None or intake_recovered:
        return False
    _require_aware(started_at, "started_at")
    _require_aware(now, "now")
    return (_utc(now) - _utc(started_at)).total_seconds() >= abort.rto_s
