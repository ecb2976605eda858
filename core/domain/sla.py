"""SLA clocks: calendars (24/7 or business hours with holidays, in the customer's time zone),
deadlines that skip closed hours and customer-pending pauses, and the policy snapshot a ticket
carries. Pure: no I/O; times are timezone-aware datetimes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_calendars
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.domain.priority import Priority

# A business calendar with no open hour within this horizon is a configuration error.
SEARCH_HORIZON_DAYS = 400


class Pause(BaseModel):
    """An interval during which the clock stands still (ticket pending on the customer)."""

    model_config = ConfigDict(frozen=True)

    begin: datetime
    end: datetime | None = None  # None: still paused

    @model_validator(mode="after")
    def _ordered(self) -> Pause:
        _require_aware(self.begin, "begin")
        if self.end is not None:
            _require_aware(self.end, "end")
            if self.end < self.begin:
                raise ValueError("pause ends before it begins")
        return self


class SlaCalendar(BaseModel):
    """When the SLA clock runs. `hours` maps weekday (0 = Monday) to one open window."""

    model_config = ConfigDict(frozen=True)

    name: str
    timezone: str
    always_open: bool = False
    hours: dict[int, tuple[time, time]] = Field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _hours_valid(self) -> SlaCalendar:
        for weekday, (opens, closes) in self.hours.items():
            if not 0 <= weekday <= 6:
                raise ValueError(f"hours: weekday {weekday} is not 0 (Monday) .. 6 (Sunday)")
            if opens >= closes:
                raise ValueError(f"hours.{weekday}: opens {opens} is not before closes {closes}")
        if not self.always_open and not self.hours:
            raise ValueError("a business-hours calendar needs opening hours")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def open_windows(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Successive open intervals (UTC) from `start` on; the first may be clipped."""
        _require_aware(start, "start")
        start = start.astimezone(UTC)
        if self.always_open:
            yield start, datetime.max.replace(tzinfo=UTC)
            return
        zone = self.zone
        day = start.astimezone(zone).date()
        for _ in range(SEARCH_HORIZON_DAYS):
            window = self.hours.get(day.weekday())
            if window and day not in self.holidays:
                opens = datetime.combine(day, window[0], zone).astimezone(UTC)
                closes = datetime.combine(day, window[1], zone).astimezone(UTC)
                if closes > start:
                    yield max(opens, start), closes
            day += timedelta(days=1)
        raise ValueError(f"calendar {self.name}: no open hour within {SEARCH_HORIZON_DAYS} days")

    def is_open(self, moment: datetime) -> bool:
        if self.always_open:
            return True
        local = moment.astimezone(self.zone)
        window = self.hours.get(local.weekday())
        if not window:
            return False
        return local.date() not in self.holidays and window[0] <= local.time() <= window[1]


def vietnam_holidays(years: Sequence[int]) -> frozenset[date]:
    """Vietnamese public holidays, Tết (lunar new year) included, from the `holidays` library."""
    return frozenset(holiday_calendars.country_holidays("VN", years=list(years)).keys())


def twenty_four_seven(timezone: str = "Asia/Ho_Chi_Minh") -> SlaCalendar:
    return SlaCalendar(name="24x7", timezone=timezone, always_open=True)


def vietnam_business_hours(years: Sequence[int], timezone: str = "Asia/Ho_Chi_Minh") -> SlaCalendar:
    """Mon-Fri 08:00-17:30 and Sat 08:00-12:00, closed on Vietnamese public holidays."""
    return _vietnam_business_hours(tuple(years), timezone)


@functools.lru_cache(maxsize=64)
def _vietnam_business_hours(years: tuple[int, ...], timezone: str) -> SlaCalendar:
    # Cached: every ticket opened asks for one, and computing the lunar holidays costs ~3 ms;
    # the calendar is frozen, so sharing it is safe.
    weekday = (time(8, 0), time(17, 30))
    return SlaCalendar(
        name="vn-business-hours",
        timezone=timezone,
        hours={0: weekday, 1: weekday, 2: weekday, 3: weekday, 4: weekday, 5: (time(8, 0), time(12, 0))},
        holidays=vietnam_holidays(years),
    )


def _running_segments(
    calendar: SlaCalendar, start: datetime, pauses: Sequence[Pause]
) -> Iterator[tuple[datetime, datetime]]:
    """Open windows from `start`, minus closed pauses (the clock's running time)."""
    closed = sorted((p.begin.astimezone(UTC), p.end.astimezone(UTC)) for p in pauses if p.end is not None)
    for w_start, w_end in calendar.open_windows(start):
        cursor = w_start
        for p_begin, p_end in closed:
            if p_end <= cursor or p_begin >= w_end:
                continue
            if p_begin > cursor:
                yield cursor, p_begin
            cursor = max(cursor, p_end)
            if cursor >= w_end:
                break
        if cursor < w_end:
            yield cursor, w_end


def deadline(
    calendar: SlaCalendar, start: datetime, target: timedelta, pauses: Sequence[Pause] = ()
) -> datetime | None:
    """When `target` of running clock time will have elapsed; None while a pause is open."""
    if target < timedelta(0):
        raise ValueError("an SLA target cannot be negative")
    if any(p.end is None for p in pauses):
        return None
    remaining = target
    for seg_start, seg_end in _running_segments(calendar, start, pauses):
        if seg_end - seg_start >= remaining:
            return seg_start + remaining
        remaining -= seg_end - seg_start
    raise AssertionError("unreachable: open windows are unbounded or raise")  # pragma: no cover


def elapsed(calendar: SlaCalendar, start: datetime, now: datetime, pauses: Sequence[Pause] = ()) -> timedelta:
    """Running clock time between `start` and `now` (an open pause counts as closed at `now`)."""
    _require_aware(now, "now")
    if now <= start:
        return timedelta(0)
    closed = [p if p.end is not None else Pause(begin=p.begin, end=max(now, p.begin)) for p in pauses]
    total = timedelta(0)
    for seg_start, seg_end in _running_segments(calendar, start, closed):
        if seg_start >= now:
            break
        total += min(seg_end, now) - seg_start
    return total


class SlaTargets(BaseModel):
    model_config = ConfigDict(frozen=True)

    response: timedelta
    resolution: timedelta | None  # None: resolved on a scheduled date (P4)


DEFAULT_TARGETS: dict[Priority, SlaTargets] = {
    Priority.P1: SlaTargets(response=timedelta(minutes=15), resolution=timedelta(hours=4)),
    Priority.P2: SlaTargets(response=timedelta(minutes=30), resolution=timedelta(hours=8)),
    Priority.P3: SlaTargets(response=timedelta(hours=4), resolution=timedelta(hours=48)),
    Priority.P4: SlaTargets(response=timedelta(hours=8), resolution=None),
}


class SlaOverride(BaseModel):
    """Targets that differ for a contract tier, a region, or both (seed 000: resolution targets
    depend on the region and the contract). Only the priorities listed change."""

    model_config = ConfigDict(frozen=True)

    tier: str | None = None
    region: str | None = None
    targets: dict[Priority, SlaTargets]

    @model_validator(mode="after")
    def _applies_to_something(self) -> SlaOverride:
        if self.tier is None and self.region is None:
            raise ValueError("an SLA override names a tier, a region or both")
        if not self.targets:
            raise ValueError("an SLA override changes at least one priority's targets")
        return self

    @property
    def label(self) -> str:
        return "+".join(x for x in (self.tier, self.region) if x)


def targets_for(
    base: dict[Priority, SlaTargets], overrides: Sequence[SlaOverride], tier: str | None, region: str | None
) -> tuple[dict[Priority, SlaTargets], list[str]]:
    """The targets for a ticket of this contract tier and region, and the overrides applied. The
    more specific wins: a region's, then a tier's, then one naming both, each for its priorities."""

    def specificity(o: SlaOverride) -> int:
        return (o.tier is not None) * 2 + (o.region is not None) * 1 + (o.tier is not None and o.region is not None) * 4

    matching = [o for o in overrides if (o.tier is None or o.tier == tier) and (o.region is None or o.region == region)]
    targets = dict(base)
    applied = []
    for o in sorted(matching, key=specificity):
        targets.update(o.targets)
        applied.append(o.label)
    return targets, applied


class SlaPolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    calendar: SlaCalendar
    targets: dict[Priority, SlaTargets] = Field(default_factory=lambda: DEFAULT_TARGETS)
    warn_at: float = Field(default=0.8, gt=0, lt=1)  # share of the target consumed that warns

    @model_validator(mode="after")
    def _every_priority(self) -> SlaPolicy:
        missing = [p for p in Priority if p not in self.targets]
        if missing:
            raise ValueError(f"targets: missing {', '.join(missing)}")
        return self


class SlaSnapshot(BaseModel):
    """The policy in force when the ticket opened, carried by the ticket (replayed on failover)."""

    model_config = ConfigDict(frozen=True)

    policy: str
    priority: Priority
    calendar: SlaCalendar
    targets: SlaTargets
    warn_at: float
    opened_at: datetime


def snapshot(policy: SlaPolicy, priority: Priority, opened_at: datetime) -> SlaSnapshot:
    _require_aware(opened_at, "opened_at")
    return SlaSnapshot(
        policy=policy.name,
        priority=priority,
        calendar=policy.calendar,
        targets=policy.targets[priority],
        warn_at=policy.warn_at,
        opened_at=opened_at,
    )


class SlaState(StrEnum):
    ON_TRACK = "on_track"
    WARNING = "warning"
    BREACHED = "breached"
    PAUSED = "paused"
    NO_TARGET = "no_target"


def clock_state(snap: SlaSnapshot, target: timedelta | None, now: datetime, pauses: Sequence[Pause] = ()) -> SlaState:
    """State of one clock (response or resolution) at `now`."""
    if target is None:
        return SlaState.NO_TARGET
    used = elapsed(snap.calendar, snap.opened_at, now, pauses)
    if used >= target:
        return SlaState.BREACHED
    if any(p.end is None for p in pauses):
        return SlaState.PAUSED
    return SlaState.WARNING if used >= target * snap.warn_at else SlaState.ON_TRACK


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
