"""The drill calendar: parsing, blackouts, upcoming fires and the run/skip guardrails. No clock reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from drills.scenarios import catalogue
from drills.schedule import (
    DEFAULT_CALENDAR,
    Abort,
    Calendar,
    CalendarError,
    abort_due,
    decide,
    in_blackout,
    load_calendar,
    parse_calendar,
    upcoming,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
SCENARIOS = (
    "site-loss-a",
    "site-loss-b",
    "site-loss-c",
    "partition-a-b",
    "isolate-a",
    "freeze-a",
    "postgres-primary-crash",
    "kafka-broker-crash",
    "zookeeper-leader-crash",
    "rolling-restart-a",
)


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=HCM)


# Two weekly drills (Tuesday and Thursday 03:00) in a DST-free zone, a month-end blackout and Tet 2027.
# January 2027: Tuesdays 5, 12, 19, 26; Thursdays 7, 14, 21, 28. February: Tuesdays 2, 9, 16.
SMALL = """
timezone = "Asia/Ho_Chi_Minh"
max_catch_up_s = 3600

[[drill]]
name = "tue-site-loss-a"
scenario = "site-loss-a"
cron = "0 3 * * 2"
duration_s = 120

[[drill]]
name = "thu-partition"
scenario = "partition-a-b"
cron = "0 3 * * 4"
duration_s = 180
load_rps = 10
[drill.targets]
availability_min = 0.9
[drill.targets.rto_s]
intake = 30
[drill.abort]
rto_s = 180

[[blackout]]
name = "month-end close"
cron = "0 0 L * *"
duration_h = 48

[[blackout]]
name = "Tet holiday 2027"
start = "2027-02-05T00:00:00+07:00"
end = "2027-02-14T00:00:00+07:00"
"""


@pytest.fixture
def cal() -> Calendar:
    return parse_calendar(SMALL, "small.toml", known_scenarios=SCENARIOS)


# -- loading ---------------------------------------------------------------------------------------


def test_packaged_calendar_loads_with_known_scenarios() -> None:
    cal = load_calendar(known_scenarios=catalogue())  # the scenarios the runner really has
    assert DEFAULT_CALENDAR.name == "calendar.toml"
    assert cal.timezone == "Asia/Ho_Chi_Minh"
    assert cal.max_catch_up_s == 3600
    assert len(cal.drills) >= 4
    assert {d.scenario for d in cal.drills} >= {"site-loss-a", "site-loss-b", "partition-a-b", "site-loss-c"}
    assert {d.scenario for d in cal.drills} >= {"restore-database", "bad-deployment"}
    assert {"month-end close", "Tet holiday 2027"} <= {b.name for b in cal.blackouts}
    # every drill fires within a quarter of a year, in the calendar's zone, at a quiet hour
    fires = upcoming(cal, at(2027, 1, 1), 40)
    assert {u.drill.name for u in fires} == {d.name for d in cal.drills}
    assert all(u.at.tzinfo == HCM and 2 <= u.at.hour <= 5 for u in fires)


def test_packaged_site_loss_drills_alternate_weeks() -> None:
    cal = load_calendar()
    fires = [u for u in upcoming(cal, at(2027, 3, 1), 30) if u.drill.scenario in ("site-loss-a", "site-loss-b")]
    march = [(u.at.day, u.drill.scenario) for u in fires if u.at.month == 3]
    # March 2027 Tuesdays: 2, 9, 16, 23, 30 (no drill on a 5th Tuesday)
    assert march == [(2, "site-loss-a"), (9, "site-loss-b"), (16, "site-loss-a"), (23, "site-loss-b")]


def test_load_calendar_from_path(tmp_path: Path) -> None:
    path = tmp_path / "cal.toml"
    path.write_text(SMALL, encoding="utf-8")
    cal = load_calendar(path)
    assert [d.name for d in cal.drills] == ["tue-site-loss-a", "thu-partition"]
    thu = cal.drill("thu-partition")
    assert thu.targets.rto_s == {"intake": 30.0}
    assert thu.targets.rpo_max_lost is None  # omitted: the scenario's default applies
    assert thu.abort == Abort(rto_s=180)
    assert cal.drill("tue-site-loss-a").abort is None


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(CalendarError, match=r"nope\.toml: cannot read calendar"):
        load_calendar(missing)


_DRILL = 'name = "d1"\nscenario = "site-loss-a"\ncron = "0 3 * * 2"\nduration_s = 120\n'


def _drills(*bodies: str) -> str:
    return 'timezone = "UTC"\n' + "".join(f"[[drill]]\n{b}\n" for b in bodies)


def _blackout(body: str) -> str:
    return f'timezone = "UTC"\n[[blackout]]\nname = "tet"\n{body}\n'


BAD = [
    pytest.param("timezone = \n", ["not valid TOML"], id="toml-syntax"),
    pytest.param('timezone = "Mars/Olympus_Mons"\n', ["timezone:", "unknown time zone 'Mars/Olympus_Mons'"], id="tz"),
    pytest.param("max_catch_up_s = 3600\n", ["timezone:", "missing"], id="tz-missing"),
    pytest.param('timezone = "UTC"\ncolour = "red"\n', ["colour: unknown key"], id="unknown-top-key"),
    pytest.param(
        _drills(_DRILL.replace("0 3 * * 2", "0 25 * * 2")),
        ["drill #1 'd1': cron:", "'0 25 * * 2' is not a valid cron"],
        id="bad-cron",
    ),
    pytest.param(
        _drills(_DRILL.replace("0 3 * * 2", "0 0 3 * * 2")),
        ["drill #1 'd1': cron:", "has 6 fields; want 5"],
        id="six-field-cron",
    ),
    pytest.param(
        _drills(_DRILL.replace("0 3 * * 2", "0 0 31 2 *")),
        ["drill #1 'd1': cron:", "never fires"],
        id="cron-never-fires",
    ),
    pytest.param(
        _drills(_DRILL, _DRILL.replace('2"', '4"')),
        ["drill #2 'd1': name: duplicate drill name (also drill #1)"],
        id="duplicate-drill",
    ),
    pytest.param(
        _drills(_DRILL.replace('name = "d1"\n', "")), ["drill #1: name: missing (required)"], id="drill-no-name"
    ),
    pytest.param(_drills(_DRILL + "colour = 1\n"), ["drill #1 'd1': colour: unknown key"], id="unknown-drill-key"),
    pytest.param(
        _drills(_DRILL + "[drill.targets]\ncolour = 1\n"),
        ["drill #1 'd1': targets.colour: unknown key"],
        id="unknown-target-key",
    ),
    pytest.param(
        _drills(_DRILL.replace("120", "10")), ["drill #1 'd1': duration_s:", "(got 10)"], id="duration-too-short"
    ),
    pytest.param(_drills(_DRILL + "load_rps = -1\n"), ["drill #1 'd1': load_rps:", "(got -1)"], id="negative-load"),
    pytest.param(
        _drills(_DRILL + "[drill.targets]\navailability_min = 1.5\n"),
        ["drill #1 'd1': targets.availability_min:", "(got 1.5)"],
        id="availability-above-1",
    ),
    pytest.param(
        _drills(_DRILL + "[drill.targets]\nrpo_max_lost = -1\n"),
        ["drill #1 'd1': targets.rpo_max_lost:"],
        id="negative-rpo",
    ),
    pytest.param(
        _drills(_DRILL + "[drill.targets.rto_s]\nintake = 0\n"),
        ["drill #1 'd1': targets.rto_s.intake:", "greater than 0"],
        id="zero-rto",
    ),
    pytest.param(_drills(_DRILL + "[drill.abort]\nrto_s = -5\n"), ["drill #1 'd1': abort.rto_s:"], id="negative-abort"),
    pytest.param(
        _drills(_DRILL + "[drill.targets.rto_s]\nintake = 60\n[drill.abort]\nrto_s = 30\n"),
        ["drill #1 'd1': abort.rto_s:", "shorter than the intake RTO target 60 s"],
        id="abort-before-target",
    ),
    pytest.param(
        _drills(_DRILL.replace("site-loss-a", "site-loss-z")),
        ["drill #1 'd1': scenario:", "unknown scenario 'site-loss-z'"],
        id="unknown-scenario",
    ),
    pytest.param(
        _blackout('start = "2027-02-14T00:00:00+07:00"\nend = "2027-02-05T00:00:00+07:00"'),
        ["blackout #1 'tet': end:", "is not after start"],
        id="end-before-start",
    ),
    pytest.param(
        _blackout('start = "2027-02-05T00:00:00+07:00"\nend = "2027-02-04T17:00:00Z"'),
        ["blackout #1 'tet': end:", "is not after start"],
        id="end-equals-start",
    ),
    pytest.param(
        _blackout('start = "2027-02-05T00:00:00"\nend = "2027-02-14T00:00:00+07:00"'),
        ["blackout #1 'tet': start:", "timezone"],
        id="naive-start",
    ),
    pytest.param(
        _blackout('cron = "0 0 L * *"\nduration_h = 48\nstart = "2027-02-05T00:00:00+07:00"'),
        ["blackout #1 'tet':", "either cron + duration_h or start + end, not both"],
        id="both-forms",
    ),
    pytest.param(_blackout(""), ["blackout #1 'tet':", "either cron + duration_h or start + end"], id="no-form"),
    pytest.param(
        _blackout('cron = "0 0 L * *"'), ["blackout #1 'tet': duration_h: missing"], id="cron-without-duration"
    ),
    pytest.param(
        _blackout('cron = "0 0 L *"\nduration_h = 48'), ["blackout #1 'tet': cron:", "want 5"], id="blackout-cron"
    ),
    pytest.param(
        _blackout('start = "2027-02-05T00:00:00+07:00"'), ["blackout #1 'tet': end: missing"], id="start-without-end"
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD)
def test_bad_input_gives_one_line_naming_file_entry_and_field(text: str, expected: list[str]) -> None:
    with pytest.raises(CalendarError) as info:
        parse_calendar(text, "bad.toml", known_scenarios=SCENARIOS)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("bad.toml: ")
    for part in expected:
        assert part in message


def test_unknown_scenarios_are_allowed_without_a_list() -> None:
    cal = parse_calendar(_drills(_DRILL.replace("site-loss-a", "brand-new-scenario")))
    assert cal.drills[0].scenario == "brand-new-scenario"


def test_calendar_error_is_a_value_error() -> None:
    assert issubclass(CalendarError, ValueError)


# -- blackouts ---------------------------------------------------------------------------------------


def test_cron_blackout_window_starts_at_each_fire(cal: Calendar) -> None:
    # "0 0 L * *" for 48 h: 2027-01-31 00:00 (inclusive) .. 2027-02-02 00:00 (exclusive)
    assert in_blackout(cal, at(2027, 1, 30, 23, 59, 59)) is None
    month_end = in_blackout(cal, at(2027, 1, 31))
    assert month_end is not None and month_end.name == "month-end close"
    assert in_blackout(cal, at(2027, 2, 1, 23, 59, 59)) is month_end
    assert in_blackout(cal, at(2027, 2, 2)) is None
    # a 30-day month: the window starts on the 30th
    assert in_blackout(cal, at(2027, 4, 30, 12)) is month_end
    assert in_blackout(cal, at(2027, 4, 29, 12)) is None


def test_fixed_blackout_is_start_inclusive_end_exclusive_in_any_zone(cal: Calendar) -> None:
    tet = in_blackout(cal, at(2027, 2, 5))
    assert tet is not None and tet.name == "Tet holiday 2027"
    assert in_blackout(cal, at(2027, 2, 4, 23, 59)) is None
    assert in_blackout(cal, datetime(2027, 2, 13, 16, 59, tzinfo=UTC)) is tet  # 23:59 in Ho Chi Minh
    assert in_blackout(cal, datetime(2027, 2, 13, 17, 0, tzinfo=UTC)) is None  # 2027-02-14 00:00 there


def test_naive_datetimes_are_refused(cal: Calendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        in_blackout(cal, datetime(2027, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        upcoming(cal, datetime(2027, 1, 1), 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(cal, datetime(2027, 1, 1), last_fired={}, drill_running=False, steady_state_ok=None)
    with pytest.raises(ValueError, match=r"last_fired\['tue-site-loss-a'\]"):
        decide(
            cal,
            at(2027, 1, 5, 3, 1),
            last_fired={"tue-site-loss-a": datetime(2026, 12, 29, 3)},
            drill_running=False,
            steady_state_ok=None,
        )


# -- upcoming ---------------------------------------------------------------------------------------


def test_upcoming_merges_drills_in_order_in_the_calendar_zone(cal: Calendar) -> None:
    now = datetime(2027, 1, 3, 12, 0, tzinfo=UTC)  # Sunday 19:00 in Ho Chi Minh
    got = upcoming(cal, now, 5)
    assert [(u.drill.name, u.at) for u in got] == [
        ("tue-site-loss-a", at(2027, 1, 5, 3)),
        ("thu-partition", at(2027, 1, 7, 3)),
        ("tue-site-loss-a", at(2027, 1, 12, 3)),
        ("thu-partition", at(2027, 1, 14, 3)),
        ("tue-site-loss-a", at(2027, 1, 19, 3)),
    ]
    assert all(u.at.tzinfo == HCM and u.at.utcoffset() == timedelta(hours=7) for u in got)
    assert got[0].at == datetime(2027, 1, 4, 20, 0, tzinfo=UTC)
    assert all(u.blackout is None for u in got)


def test_upcoming_is_strictly_after_now(cal: Calendar) -> None:
    got = upcoming(cal, at(2027, 1, 5, 3), 1)
    assert (got[0].drill.name, got[0].at) == ("thu-partition", at(2027, 1, 7, 3))
    assert upcoming(cal, at(2027, 1, 5, 3), 0) == []


def test_upcoming_marks_fires_inside_a_blackout(cal: Calendar) -> None:
    got = upcoming(cal, at(2027, 1, 27), 6)
    assert [(u.at.date().isoformat(), u.blackout.name if u.blackout else None) for u in got] == [
        ("2027-01-28", None),  # Thursday
        ("2027-02-02", None),  # Tuesday: month-end close ended at 00:00
        ("2027-02-04", None),  # Thursday: Tet starts on the 5th
        ("2027-02-09", "Tet holiday 2027"),
        ("2027-02-11", "Tet holiday 2027"),
        ("2027-02-16", None),
    ]


def test_upcoming_with_no_drills_is_empty() -> None:
    assert upcoming(parse_calendar('timezone = "UTC"\n'), at(2027, 1, 1), 3) == []


# -- decide -----------------------------------------------------------------------------------------

FIRED_JAN_05 = {"tue-site-loss-a": at(2027, 1, 5, 3), "thu-partition": at(2027, 1, 7, 3)}


def test_nothing_due_waits_for_the_next_fire(cal: Calendar) -> None:
    d = decide(cal, at(2027, 1, 10, 12), last_fired=FIRED_JAN_05, drill_running=False, steady_state_ok=None)
    assert d.action == "wait"
    assert d.drill is not None and d.drill.name == "tue-site-loss-a"
    assert d.due_at == at(2027, 1, 12, 3)
    assert d.reason == "nothing due; next tue-site-loss-a at 2027-01-12 03:00"


def test_due_then_check_then_run(cal: Calendar) -> None:
    now = at(2027, 1, 12, 3, 0, 20)
    first = decide(cal, now, last_fired=FIRED_JAN_05, drill_running=False, steady_state_ok=None)
    assert first.action == "check"
    assert first.drill is not None and first.drill.name == "tue-site-loss-a"
    assert first.due_at == at(2027, 1, 12, 3)
    assert first.reason.startswith("tue-site-loss-a due 2027-01-12 03:00: ")
    second = decide(
        cal, now + timedelta(seconds=15), last_fired=FIRED_JAN_05, drill_running=False, steady_state_ok=True
    )
    assert second.action == "run"
    assert second.drill == first.drill and second.due_at == first.due_at
    # once recorded it is no longer due
    fired = {**FIRED_JAN_05, "tue-site-loss-a": second.due_at}
    after = decide(cal, now + timedelta(minutes=5), last_fired=fired, drill_running=False, steady_state_ok=None)
    assert after.action == "wait"


def test_due_exactly_at_the_fire_time(cal: Calendar) -> None:
    d = decide(cal, at(2027, 1, 12, 3), last_fired=FIRED_JAN_05, drill_running=False, steady_state_ok=True)
    assert (d.action, d.due_at) == ("run", at(2027, 1, 12, 3))
    just_before = decide(
        cal, at(2027, 1, 12, 2, 59, 59), last_fired=FIRED_JAN_05, drill_running=False, steady_state_ok=True
    )
    assert just_before.action == "wait"


def test_blackout_skips(cal: Calendar) -> None:
    fired = {"tue-site-loss-a": at(2027, 2, 2, 3), "thu-partition": at(2027, 2, 4, 3)}
    d = decide(cal, at(2027, 2, 9, 3, 1), last_fired=fired, drill_running=False, steady_state_ok=None)
    assert d.action == "skip"
    assert d.drill is not None and d.drill.name == "tue-site-loss-a"
    assert d.due_at == at(2027, 2, 9, 3)
    assert d.blackout is not None and d.blackout.name == "Tet holiday 2027"
    assert d.reason == "tue-site-loss-a due 2027-02-09 03:00: skipped, blackout 'Tet holiday 2027'"


def test_blackout_at_now_skips_a_late_drill() -> None:
    text = SMALL + '\n[[blackout]]\nname = "maintenance"\nstart = "2027-01-12T03:10:00+07:00"\n'
    text += 'end = "2027-01-12T05:00:00+07:00"\n'
    cal = parse_calendar(text)
    d = decide(cal, at(2027, 1, 12, 3, 20), last_fired=FIRED_JAN_05, drill_running=False, steady_state_ok=True)
    assert d.action == "skip" and d.blackout is not None and d.blackout.name == "maintenance"


def test_running_drill_skips(cal: Calendar) -> None:
    d = decide(cal, at(2027, 1, 12, 3, 1), last_fired=FIRED_JAN_05, drill_running=True, steady_state_ok=None)
    assert d.action == "skip"
    assert d.reason == "tue-site-loss-a due 2027-01-12 03:00: skipped, a drill is already running"


def test_failing_steady_state_skips(cal: Calendar) -> None:
    d = decide(cal, at(2027, 1, 12, 3, 1), last_fired=FIRED_JAN_05, drill_running=False, steady_state_ok=False)
    assert d.action == "skip"
    assert d.drill is not None and d.drill.name == "tue-site-loss-a"
    assert d.reason == "tue-site-loss-a due 2027-01-12 03:00: skipped, steady state already failing"


def test_missed_beyond_catch_up_skips(cal: Calendar) -> None:
    d = decide(cal, at(2027, 1, 12, 5), last_fired=FIRED_JAN_05, drill_running=False, steady_state_ok=None)
    assert d.action == "skip"
    assert d.due_at == at(2027, 1, 12, 3)
    assert d.reason == "tue-site-loss-a due 2027-01-12 03:00: skipped, missed by 2 h > max catch-up 1 h"
    # within the catch-up window it is still run late
    late = decide(cal, at(2027, 1, 12, 4), last_fired=FIRED_JAN_05, drill_running=False, steady_state_ok=True)
    assert late.action == "run"


def test_several_missed_fires_are_one_decision_for_the_latest(cal: Calendar) -> None:
    fired = {"tue-site-loss-a": at(2026, 12, 1, 3), "thu-partition": at(2027, 1, 21, 3)}
    d = decide(cal, at(2027, 1, 26, 3, 5), last_fired=fired, drill_running=False, steady_state_ok=None)
    assert (d.action, d.due_at) == ("check", at(2027, 1, 26, 3))


def test_earliest_of_two_due_drills_first(cal: Calendar) -> None:
    # scheduler down from Monday 11th to Thursday 14th 03:30: both drills due, Tuesday's is older
    now = at(2027, 1, 14, 3, 30)
    d = decide(cal, now, last_fired=FIRED_JAN_05, drill_running=False, steady_state_ok=None)
    assert d.drill is not None and d.drill.name == "tue-site-loss-a"
    assert d.action == "skip" and "missed by 2 d" in d.reason
    assert d.due_at is not None  # a skip carries the fire time to record
    fired = {**FIRED_JAN_05, "tue-site-loss-a": d.due_at}
    d2 = decide(cal, now, last_fired=fired, drill_running=False, steady_state_ok=None)
    assert d2.drill is not None and d2.drill.name == "thu-partition"
    assert (d2.action, d2.due_at) == ("check", at(2027, 1, 14, 3))


def test_earliest_wins_regardless_of_calendar_order() -> None:
    text = _drills(
        _DRILL.replace('"d1"', '"late"').replace("0 3 * * 2", "30 3 * * 2"),
        _DRILL.replace('"d1"', '"early"').replace("0 3 * * 2", "10 3 * * 2"),
    )
    cal = parse_calendar(text)
    fired = {"late": datetime(2027, 1, 5, 4, tzinfo=UTC), "early": datetime(2027, 1, 5, 4, tzinfo=UTC)}
    d = decide(
        cal, datetime(2027, 1, 12, 3, 40, tzinfo=UTC), last_fired=fired, drill_running=False, steady_state_ok=True
    )
    assert d.drill is not None and d.drill.name == "early"
    assert d.due_at == datetime(2027, 1, 12, 3, 10, tzinfo=UTC)


def test_first_start_ignores_old_fires(cal: Calendar) -> None:
    # no record at all: Tuesday's 03:00 fire is 2 h old, so it is history, not a skip
    d = decide(cal, at(2027, 1, 12, 5), last_fired={}, drill_running=False, steady_state_ok=None)
    assert d.action == "wait"
    assert d.drill is not None and d.drill.name == "thu-partition" and d.due_at == at(2027, 1, 14, 3)
    # ... but a fire within the catch-up window does count, up to and including max_catch_up_s
    d = decide(cal, at(2027, 1, 12, 4), last_fired={}, drill_running=False, steady_state_ok=None)
    assert (d.action, d.due_at) == ("check", at(2027, 1, 12, 3))
    d = decide(cal, at(2027, 1, 12, 4, 0, 1), last_fired={}, drill_running=False, steady_state_ok=None)
    assert d.action == "wait"
    d = decide(cal, at(2027, 1, 12, 3, 30), last_fired={}, drill_running=False, steady_state_ok=None)
    assert (d.action, d.due_at) == ("check", at(2027, 1, 12, 3))


def test_no_drills_waits_with_nothing_next() -> None:
    empty = parse_calendar('timezone = "UTC"\n')
    d = decide(empty, at(2027, 1, 1), last_fired={}, drill_running=False, steady_state_ok=True)
    assert (d.action, d.drill, d.due_at) == ("wait", None, None)


# -- abort -----------------------------------------------------------------------------------------


def test_abort_due() -> None:
    start = at(2027, 1, 12, 3, 0, 30)
    rule = Abort(rto_s=180)
    assert not abort_due(start, start + timedelta(seconds=179), False, rule)
    assert abort_due(start, start + timedelta(seconds=180), False, rule)
    assert abort_due(start, start + timedelta(seconds=600), False, rule)
    assert not abort_due(start, start + timedelta(seconds=600), True, rule)
    assert not abort_due(start, start + timedelta(seconds=600), False, None)
    # different zones for the two readings are fine: elapsed time is real time
    assert abort_due(start, datetime(2027, 1, 11, 20, 3, 30, tzinfo=UTC), False, rule)
    assert not abort_due(start, datetime(2027, 1, 11, 20, 3, 29, tzinfo=UTC), False, rule)
