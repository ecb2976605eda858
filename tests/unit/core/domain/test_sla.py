"""SLA clocks across 24/7 and business-hours calendars, Vietnamese holidays (Tết) and pauses."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.domain.priority import Priority
from core.domain.sla import (
    Pause,
    SlaCalendar,
    SlaPolicy,
    SlaState,
    clock_state,
    deadline,
    elapsed,
    snapshot,
    twenty_four_seven,
    vietnam_business_hours,
    vietnam_holidays,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
BUSINESS = vietnam_business_hours(range(2025, 2029))
ALWAYS = twenty_four_seven()

moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=60))


def local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, microsecond: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=HCM)


def test_tet_2027_is_a_holiday() -> None:
    days = vietnam_holidays([2027])
    assert date(2027, 2, 6) in days  # Lunar New Year's day 2027
    assert date(2027, 2, 8) in days


def test_p1_response_on_24x7_is_fifteen_minutes_even_during_tet() -> None:
    opened = local(2027, 2, 6, 23, 50)
    assert deadline(ALWAYS, opened, timedelta(minutes=15)) == opened + timedelta(minutes=15)


def test_business_clock_skips_the_night() -> None:
    # Friday 17:00 + 4 h business time: 30 min Friday, 3.5 h Saturday morning (Sat 08:00-12:00).
    due = deadline(BUSINESS, local(2026, 3, 6, 17, 0), timedelta(hours=4))
    assert due == local(2026, 3, 7, 11, 30)


def test_business_clock_skips_tet() -> None:
    # Wed 3 Feb 2027, 17:00: 30 min that day; Tết closes 4-10 Feb; the last 30 min fall on Thu 11 Feb.
    due = deadline(BUSINESS, local(2027, 2, 3, 17, 0), timedelta(hours=1))
    assert due == local(2027, 2, 11, 8, 30)


def test_pause_moves_the_deadline_by_its_open_hours() -> None:
    opened = local(2026, 3, 2, 9, 0)  # Monday
    pause = Pause(begin=local(2026, 3, 2, 10, 0), end=local(2026, 3, 2, 12, 0))
    assert deadline(BUSINESS, opened, timedelta(hours=4), [pause]) == local(2026, 3, 2, 15, 0)


def test_open_pause_stops_the_clock() -> None:
    opened = local(2026, 3, 2, 9, 0)
    pause = Pause(begin=local(2026, 3, 2, 10, 0))
    assert deadline(BUSINESS, opened, timedelta(hours=4), [pause]) is None
    assert elapsed(BUSINESS, opened, local(2026, 3, 2, 16, 0), [pause]) == timedelta(hours=1)


def test_clock_states() -> None:
    policy = SlaPolicy(name="standard", calendar=ALWAYS)
    snap = snapshot(policy, Priority.P1, local(2026, 3, 2, 9, 0))
    response = snap.targets.response
    assert clock_state(snap, response, local(2026, 3, 2, 9, 5)) == SlaState.ON_TRACK
    assert clock_state(snap, response, local(2026, 3, 2, 9, 13)) == SlaState.WARNING
    assert clock_state(snap, response, local(2026, 3, 2, 9, 15)) == SlaState.BREACHED
    assert (
        clock_state(snap, response, local(2026, 3, 2, 9, 5), [Pause(begin=local(2026, 3, 2, 9, 1))]) == SlaState.PAUSED
    )
    p4 = snapshot(policy, Priority.P4, local(2026, 3, 2, 9, 0))
    assert clock_state(p4, p4.targets.resolution, local(2027, 1, 1)) == SlaState.NO_TARGET


def test_default_targets_follow_the_seeds() -> None:
    policy = SlaPolicy(name="standard", calendar=ALWAYS)
    assert policy.targets[Priority.P1].response == timedelta(minutes=15)
    assert policy.targets[Priority.P1].resolution == timedelta(hours=4)
    assert policy.targets[Priority.P2].resolution == timedelta(hours=8)
    assert policy.targets[Priority.P3].resolution == timedelta(hours=48)
    assert policy.targets[Priority.P4].resolution is None


def test_bad_calendars_refused() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        SlaCalendar(name="x", timezone="Mars/Olympus", always_open=True)
    with pytest.raises(ValueError, match="opens 18:00:00 is not before closes 08:00:00"):
        SlaCalendar(name="x", timezone="UTC", hours={0: (time(18), time(8))})
    with pytest.raises(ValueError, match="needs opening hours"):
        SlaCalendar(name="x", timezone="UTC")
    with pytest.raises(ValueError, match="timezone-aware"):
        deadline(ALWAYS, datetime(2026, 1, 1), timedelta(hours=1))


@given(start=moments, target=durations)
def test_24x7_deadline_is_plain_addition(start: datetime, target: timedelta) -> None:
    assert deadline(ALWAYS, start, target) == start + target


@settings(max_examples=200)
@given(start=moments, target=durations)
def test_business_deadline_consumes_exactly_the_target(start: datetime, target: timedelta) -> None:
    due = deadline(BUSINESS, start, target)
    assert due is not None and due >= start
    assert elapsed(BUSINESS, start, due) == target
    assert target == timedelta(0) or BUSINESS.is_open(due)


@settings(max_examples=200)
@given(start=moments, a=durations, b=durations)
def test_deadline_is_monotonic_in_the_target(start: datetime, a: timedelta, b: timedelta) -> None:
    small, large = sorted((a, b))
    due_small, due_large = deadline(BUSINESS, start, small), deadline(BUSINESS, start, large)
    assert due_small is not None and due_large is not None and due_small <= due_large


@settings(max_examples=200)
@given(start=moments, target=durations, offset=durations, length=durations)
def test_a_closed_pause_never_brings_the_deadline_forward(
    start: datetime, target: timedelta, offset: timedelta, length: timedelta
) -> None:
    assume(target > timedelta(0))
    pause = Pause(begin=start + offset, end=start + offset + length)
    plain, paused = deadline(BUSINESS, start, target), deadline(BUSINESS, start, target, [pause])
    assert plain is not None and paused is not None
    assert paused >= plain
    assert elapsed(BUSINESS, start, paused, [pause]) == target
