"""Duty roster: CSV and iCalendar import, who is on duty, whom to assign."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TypedDict
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.agents.domain.roster import (
    COLUMNS,
    RosterError,
    Shift,
    on_duty,
    parse_roster_csv,
    parse_roster_ics,
    pick_assignee,
    roster_to_csv,
    specialty_to_team,
)
from core.domain.escalation import SupportLevel
from core.domain.routing import Team
from core.domain.taxonomy import Region

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
PARIS = ZoneInfo("Europe/Paris")
HEADER = ",".join(COLUMNS)
# 2025-01-06 is a Monday, 2025-01-10 a Friday, 2025-01-11 a Saturday.
MONDAY, FRIDAY, SATURDAY = "2025-01-06", "2025-01-10", "2025-01-11"


def csv_of(*rows: str, header: str = HEADER) -> str:
    return "\n".join((header, *rows)) + "\n"


def row(
    agent: str = "an",
    specialty: str = "Network",
    region: str = "north",
    level: str = "L1",
    day: str = MONDAY,
    start: str = "08:00",
    end: str = "17:30",
    zone: str = "",
    kind: str = "",
) -> str:
    return ",".join((agent, specialty, region, level, day, start, end, zone, kind))


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, microsecond: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)


def shift(
    agent: str,
    starts_at: datetime,
    ends_at: datetime,
    *,
    team: Team = Team.NETWORK,
    region: Region = Region.NORTH,
    level: SupportLevel = SupportLevel.L1,
) -> Shift:
    return Shift(
        agent_id=agent, team=team, region=region, level=level, starts_at=starts_at, ends_at=ends_at, kind="in_hours"
    )


# --- Shift ------------------------------------------------------------------------------------


def test_shift_normalises_to_utc_and_strips_the_agent_id() -> None:
    s = shift(" an ", datetime(2025, 1, 6, 8, tzinfo=HCM), datetime(2025, 1, 6, 17, tzinfo=HCM))
    assert s.agent_id == "an"
    assert s.starts_at == utc(2025, 1, 6, 1) and s.starts_at.tzinfo is UTC
    assert s.ends_at == utc(2025, 1, 6, 10) and s.ends_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "message"),
    [
        (datetime(2025, 1, 6, 8), utc(2025, 1, 6, 9), "timezone-aware"),
        (utc(2025, 1, 6, 8), datetime(2025, 1, 6, 9), "timezone-aware"),
        (utc(2025, 1, 6, 8), utc(2025, 1, 6, 8), "ends_at must be after starts_at"),
        (utc(2025, 1, 6, 8), utc(2025, 1, 6, 7), "ends_at must be after starts_at"),
    ],
)
def test_shift_refuses_naive_or_unordered_times(starts_at: datetime, ends_at: datetime, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        shift("an", starts_at, ends_at)


def test_shift_refuses_an_empty_agent_id() -> None:
    with pytest.raises(ValueError, match="agent_id"):
        shift("  ", utc(2025, 1, 6, 8), utc(2025, 1, 6, 9))


def test_shift_is_frozen() -> None:
    s = shift("an", utc(2025, 1, 6, 8), utc(2025, 1, 6, 9))
    with pytest.raises(ValueError, match="frozen"):
        s.agent_id = "binh"  # type: ignore[misc]


def test_covers_is_half_open_and_zone_independent() -> None:
    s = shift("an", utc(2025, 1, 6, 1), utc(2025, 1, 6, 10))
    assert s.covers(datetime(2025, 1, 6, 8, tzinfo=HCM))  # == 01:00Z, start inclusive
    assert s.covers(utc(2025, 1, 6, 9, 59, 59))
    assert not s.covers(datetime(2025, 1, 6, 17, tzinfo=HCM))  # == 10:00Z, end exclusive
    assert not s.covers(utc(2025, 1, 6, 0, 59))
    with pytest.raises(ValueError, match="timezone-aware"):
        s.covers(datetime(2025, 1, 6, 5))


# --- specialty, region, level -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "team"),
    [
        ("Network", Team.NETWORK),
        ("NETWORK", Team.NETWORK),
        (" network ", Team.NETWORK),
        ("System", Team.SERVER),
        ("Systems", Team.SERVER),
        ("Server", Team.SERVER),
        ("DataCenter", Team.DATACENTER),
        ("Data Center", Team.DATACENTER),
        ("data-center", Team.DATACENTER),
        ("DC", Team.DATACENTER),
        ("Cabling", Team.CABLING),
        ("Devices", Team.DEVICES),
        ("Camera", Team.CAMERA),
        ("Alarm", Team.ALARM),
        ("Service Desk", Team.SERVICE_DESK),
        ("service_desk", Team.SERVICE_DESK),
        ("Sérvice Dësk", Team.SERVICE_DESK),
    ],
)
def test_specialty_names(text: str, team: Team) -> None:
    assert specialty_to_team(text) is team


@pytest.mark.parametrize("team", list(Team))
def test_every_team_value_is_a_specialty(team: Team) -> None:
    assert specialty_to_team(team.value) is team


def test_unknown_specialty_names_the_value_and_the_accepted_names() -> None:
    with pytest.raises(RosterError, match=r"specialty 'Plumbing' is not one of Network, System/Server, .*Service Desk"):
        specialty_to_team("Plumbing")


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("north", Region.NORTH),
        ("North", Region.NORTH),
        ("Bắc", Region.NORTH),
        ("Bac", Region.NORTH),
        ("miền Bắc", Region.NORTH),
        ("Mien Bac", Region.NORTH),
        ("Bắc Bộ", Region.NORTH),
        ("central", Region.CENTRAL),
        ("Trung", Region.CENTRAL),
        ("MIỀN TRUNG", Region.CENTRAL),
        ("south", Region.SOUTH),
        ("Nam", Region.SOUTH),
        ("miền Nam", Region.SOUTH),
        ("Nam Bộ", Region.SOUTH),
    ],
)
def test_csv_region_names(text: str, region: Region) -> None:
    (s,) = parse_roster_csv(csv_of(row(region=text)))
    assert s.region is region


@pytest.mark.parametrize(
    ("text", "level"), [("L1", SupportLevel.L1), ("l2", SupportLevel.L2), (" L3 ", SupportLevel.L3)]
)
def test_csv_levels(text: str, level: SupportLevel) -> None:
    (s,) = parse_roster_csv(csv_of(row(level=text)))
    assert s.level is level


# --- CSV --------------------------------------------------------------------------------------


def test_csv_happy_path() -> None:
    text = csv_of(
        row("an", "Network", "Bắc", "L1", MONDAY, "08:00", "17:30"),
        row("binh", "System", "Trung", "L2", SATURDAY, "08:00", "12:00"),
        row("chi", "Data Center", "miền Nam", "L3", MONDAY, "17:30", "22:00", "Asia/Ho_Chi_Minh"),
        row("dung", "Cabling", "south", "L1", MONDAY, "09:00", "18:00", "", "out_of_hours"),
    )
    assert parse_roster_csv(text) == [
        Shift(
            agent_id="an",
            team=Team.NETWORK,
            region=Region.NORTH,
            level=SupportLevel.L1,
            starts_at=utc(2025, 1, 6, 1),
            ends_at=utc(2025, 1, 6, 10, 30),
            kind="in_hours",
        ),
        Shift(
            agent_id="binh",
            team=Team.SERVER,
            region=Region.CENTRAL,
            level=SupportLevel.L2,
            starts_at=utc(2025, 1, 11, 1),
            ends_at=utc(2025, 1, 11, 5),
            kind="out_of_hours",
        ),
        Shift(
            agent_id="chi",
            team=Team.DATACENTER,
            region=Region.SOUTH,
            level=SupportLevel.L3,
            starts_at=utc(2025, 1, 6, 10, 30),
            ends_at=utc(2025, 1, 6, 15),
            kind="out_of_hours",
        ),
        Shift(
            agent_id="dung",
            team=Team.CABLING,
            region=Region.SOUTH,
            level=SupportLevel.L1,
            starts_at=utc(2025, 1, 6, 2),
            ends_at=utc(2025, 1, 6, 11),
            kind="out_of_hours",  # explicit kind wins over the derivation
        ),
    ]


@pytest.mark.parametrize(
    ("day", "start", "kind"),
    [
        (MONDAY, "08:00", "in_hours"),
        (MONDAY, "07:59", "out_of_hours"),
        (MONDAY, "17:29", "in_hours"),
        (MONDAY, "17:30", "out_of_hours"),
        (MONDAY, "00:00", "out_of_hours"),
        (FRIDAY, "12:00", "in_hours"),
        (FRIDAY, "23:30", "out_of_hours"),
        (SATURDAY, "08:00", "out_of_hours"),
        ("2025-01-12", "10:00", "out_of_hours"),  # Sunday
    ],
)
def test_csv_kind_is_derived_from_the_local_start(day: str, start: str, kind: str) -> None:
    (s,) = parse_roster_csv(csv_of(row(day=day, start=start, end="23:59" if start != "23:59" else "00:00")))
    assert s.kind == kind


def test_csv_kind_is_derived_in_the_rows_time_zone() -> None:
    # 08:00 in Paris is 14:00 in Vietnam: still in hours, on the Paris clock.
    (paris,) = parse_roster_csv(csv_of(row(start="08:00", end="12:00", zone="Europe/Paris")))
    assert paris.kind == "in_hours"
    assert paris.starts_at == utc(2025, 1, 6, 7)
    # 23:30 UTC on Sunday is 06:30 Monday in Vietnam: out of hours on the UTC clock it was written in.
    (sunday,) = parse_roster_csv(csv_of(row(day="2025-01-05", start="23:30", end="06:00", zone="UTC")))
    assert sunday.kind == "out_of_hours"


@pytest.mark.parametrize(
    ("text", "kind"), [("in_hours", "in_hours"), ("In-Hours", "in_hours"), ("out of hours", "out_of_hours")]
)
def test_csv_explicit_kind_spellings(text: str, kind: str) -> None:
    (s,) = parse_roster_csv(csv_of(row(start="02:00", end="04:00", kind=text)))
    assert s.kind == kind


def test_csv_night_shift_crosses_midnight() -> None:
    (s,) = parse_roster_csv(csv_of(row(day=FRIDAY, start="22:00", end="06:00")))
    assert s.starts_at == datetime(2025, 1, 10, 22, tzinfo=HCM) == utc(2025, 1, 10, 15)
    assert s.ends_at == datetime(2025, 1, 11, 6, tzinfo=HCM) == utc(2025, 1, 10, 23)
    assert s.kind == "out_of_hours"


def test_csv_end_at_midnight_and_end_equal_to_start() -> None:
    to_midnight, full_day = parse_roster_csv(
        csv_of(row(start="17:30", end="00:00"), row("binh", start="08:00", end="08:00"))
    )
    assert to_midnight.ends_at == datetime(2025, 1, 7, 0, tzinfo=HCM)
    assert full_day.ends_at - full_day.starts_at == timedelta(hours=24)


def test_csv_ho_chi_minh_0800_is_0100_utc() -> None:
    (s,) = parse_roster_csv(csv_of(row(start="08:00", end="09:00", zone="Asia/Ho_Chi_Minh")))
    assert s.starts_at == utc(2025, 1, 6, 1)


def test_csv_default_time_zone_applies_to_empty_or_absent_zones() -> None:
    header = "agent_id,specialty,region,level,date,start,end"
    no_column = csv_of("an,Network,north,L1,2025-01-06,08:00,09:00", header=header)
    assert parse_roster_csv(no_column)[0].starts_at == utc(2025, 1, 6, 1)
    assert parse_roster_csv(no_column, default_time_zone="UTC")[0].starts_at == utc(2025, 1, 6, 8)
    assert parse_roster_csv(csv_of(row()), default_time_zone="Europe/Paris")[0].starts_at == utc(2025, 1, 6, 7)


def test_csv_summer_time_in_paris() -> None:
    (s,) = parse_roster_csv(csv_of(row(day="2025-07-07", start="08:00", end="12:00", zone="Europe/Paris")))
    assert s.starts_at == utc(2025, 7, 7, 6)


def test_csv_dst_gap_is_refused() -> None:
    text = csv_of(row(), row("binh", day="2025-03-30", start="02:30", end="08:00", zone="Europe/Paris"))
    with pytest.raises(
        RosterError, match=r"^line 3: start 2025-03-30 02:30 does not exist in Europe/Paris \(DST gap\)$"
    ):
        parse_roster_csv(text)


def test_csv_dst_gap_at_the_end_is_refused() -> None:
    text = csv_of(row(day="2025-03-29", start="22:00", end="02:15", zone="Europe/Paris"))
    with pytest.raises(RosterError, match=r"^line 2: end 2025-03-30 02:15 does not exist"):
        parse_roster_csv(text)


def test_csv_dst_change_lengthens_or_shortens_the_night() -> None:
    spring, autumn = parse_roster_csv(
        csv_of(
            row(day="2025-03-29", start="22:00", end="06:00", zone="Europe/Paris"),
            row(day="2025-10-25", start="22:00", end="06:00", zone="Europe/Paris"),
        )
    )
    assert spring.ends_at - spring.starts_at == timedelta(hours=7)
    assert autumn.ends_at - autumn.starts_at == timedelta(hours=9)


def test_csv_ambiguous_time_takes_the_first_occurrence() -> None:
    (s,) = parse_roster_csv(csv_of(row(day="2025-10-26", start="02:30", end="05:00", zone="Europe/Paris")))
    assert s.starts_at == utc(2025, 10, 26, 0, 30)  # 02:30 CEST (+02:00), not 02:30 CET


def test_csv_header_is_case_insensitive_in_any_order_with_bom_and_crlf() -> None:
    text = "\ufeffLevel , Agent_ID,START,end,date,region,specialty\r\nL2,an,08:00,09:00,2025-01-06,south,DC\r\n"
    (s,) = parse_roster_csv(text)
    assert (s.agent_id, s.team, s.region, s.level) == ("an", Team.DATACENTER, Region.SOUTH, SupportLevel.L2)
    assert s.starts_at == utc(2025, 1, 6, 1)


def test_csv_blank_lines_are_skipped_and_line_numbers_stay_physical() -> None:
    text = csv_of(row(), "", ",,,,,,,,", row(level="L9"))
    with pytest.raises(RosterError, match=r"^line 5: level 'L9'"):
        parse_roster_csv(text)
    assert len(parse_roster_csv(csv_of(row(), "", row("binh")))) == 2


def test_csv_quoted_fields() -> None:
    (s,) = parse_roster_csv(csv_of(row(agent='"nguyen, van an"', specialty='"Data Center"')))
    assert s.agent_id == "nguyen, van an"
    assert s.team is Team.DATACENTER


def test_csv_header_only_or_short_rows() -> None:
    assert parse_roster_csv(HEADER) == []
    (s,) = parse_roster_csv(csv_of("an,Network,north,L1,2025-01-06,08:00,09:00"))  # trailing optional fields
    assert s.kind == "in_hours"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (row(level="L9"), "line 4: level 'L9' is not one of L1, L2, L3"),
        (row(region="West"), "line 4: region 'West' is not one of north, central, south (Bắc, Trung, Nam)"),
        (row(specialty="Plumbing"), "line 4: specialty 'Plumbing' is not one of Network, System/Server"),
        (row(day="2025-02-30"), "line 4: date '2025-02-30' is not a YYYY-MM-DD date"),
        (row(day="06/01/2025"), "line 4: date '06/01/2025' is not a YYYY-MM-DD date"),
        (row(day="20250106"), "line 4: date '20250106' is not a YYYY-MM-DD date"),
        (row(start="25:00"), "line 4: start '25:00' is not an HH:MM time (00:00-23:59)"),
        (row(start="8h"), "line 4: start '8h' is not an HH:MM time"),
        (row(end="17:60"), "line 4: end '17:60' is not an HH:MM time"),
        (row(end="17:30:00"), "line 4: end '17:30:00' is not an HH:MM time"),
        (row(zone="Asia/Hanoi"), "line 4: time_zone 'Asia/Hanoi' is not a known IANA time zone"),
        (row(zone="../etc/passwd"), "line 4: time_zone '../etc/passwd' is not a known IANA time zone"),
        (row(kind="night"), "line 4: kind 'night' is not one of in_hours, out_of_hours"),
        (row(agent=" "), "line 4: agent_id is empty"),
        (row(specialty=""), "line 4: specialty is empty"),
        (row(day=""), "line 4: date is empty"),
        (row(end=""), "line 4: end is empty"),
        (row() + ",extra", "line 4: 10 fields, the header has 9"),
    ],
)
def test_csv_errors_name_the_line_and_the_field(line: str, message: str) -> None:
    text = csv_of(row("an"), row("binh"), line, row("chi"))
    with pytest.raises(RosterError) as caught:
        parse_roster_csv(text)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_roster_error_is_a_value_error() -> None:
    assert issubclass(RosterError, ValueError)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("agent_id,specialty,region,date,start,end", "line 1: missing column(s) level; expected the header agent_id,"),
        ("agent_id,specialty,region,level,start", "line 1: missing column(s) date, end;"),
        (HEADER + ",timezone", "line 1: unknown column(s) timezone;"),
        (HEADER + ",level", "line 1: duplicated column(s) level;"),
        ("agent,specialty,region,level,date,start,end", "line 1: missing column(s) agent_id; unknown column(s) agent;"),
    ],
)
def test_csv_header_errors(header: str, message: str) -> None:
    with pytest.raises(RosterError) as caught:
        parse_roster_csv(csv_of(header=header))
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("text", ["", "\n", "\ufeff"])
def test_csv_empty_text(text: str) -> None:
    with pytest.raises(RosterError, match=r"^line 1: empty roster"):
        parse_roster_csv(text)


def test_csv_unknown_default_zone() -> None:
    with pytest.raises(RosterError, match="time_zone 'Mars/Olympus' is not a known IANA time zone"):
        parse_roster_csv(csv_of(row()), default_time_zone="Mars/Olympus")


def test_csv_malformed_quoting_is_a_roster_error() -> None:
    with pytest.raises(RosterError, match=r"^line \d+: "):
        parse_roster_csv(csv_of(row(), 'an,"Network\0,north'))


# --- CSV export ------------------------------------------------------------------------------


def test_roster_to_csv_writes_utc_and_explicit_kind() -> None:
    shifts = parse_roster_csv(csv_of(row(), row("binh", day=FRIDAY, start="22:00", end="06:00", kind="")))
    assert roster_to_csv(shifts) == (
        HEADER + "\n"
        "an,network,north,L1,2025-01-06,01:00,10:30,UTC,in_hours\n"
        "binh,network,north,L1,2025-01-10,15:00,23:00,UTC,out_of_hours\n"
    )
    assert parse_roster_csv(roster_to_csv(shifts)) == shifts


def test_roster_to_csv_round_trips_a_24_hour_shift() -> None:
    s = shift("an", utc(2025, 1, 6, 1), utc(2025, 1, 7, 1))
    assert parse_roster_csv(roster_to_csv([s])) == [s]


@pytest.mark.parametrize(
    "ends_at",
    [utc(2025, 1, 7, 1, 1), utc(2025, 1, 6, 2, 0, 30), utc(2025, 1, 6, 2, 0, 0, 1)],
)
def test_roster_to_csv_refuses_what_the_csv_cannot_hold(ends_at: datetime) -> None:
    with pytest.raises(RosterError, match="shift of an at 2025-01-06T01:00:00Z: the CSV holds whole minutes"):
        roster_to_csv([shift("an", utc(2025, 1, 6, 1), ends_at)])


def test_roster_to_csv_of_nothing_is_the_header() -> None:
    assert roster_to_csv([]) == HEADER + "\n"
    assert parse_roster_csv(roster_to_csv([])) == []


# --- iCalendar -------------------------------------------------------------------------------


class Window(TypedDict):
    window_start: datetime
    window_end: datetime


WINDOW: Window = {"window_start": utc(2025, 1, 1), "window_end": utc(2025, 2, 1)}
FIELDS = ("X-CCDR-AGENT:an", "X-CCDR-SPECIALTY:Network", "X-CCDR-REGION:Bắc", "X-CCDR-LEVEL:L1")


def vevent(uid: str, *lines: str, fields: tuple[str, ...] = FIELDS) -> str:
    return "\r\n".join(("BEGIN:VEVENT", f"UID:{uid}", "SUMMARY:Trực ca", *fields, *lines, "END:VEVENT"))


def ics(*events: str) -> str:
    return "\r\n".join(("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//ccdr//roster//EN", *events, "END:VCALENDAR"))


def test_ics_tzid_event() -> None:
    text = ics(
        vevent("e1", "DTSTART;TZID=Asia/Ho_Chi_Minh:20250106T080000", "DTEND;TZID=Asia/Ho_Chi_Minh:20250106T173000")
    )
    assert parse_roster_ics(text, **WINDOW) == [
        Shift(
            agent_id="an",
            team=Team.NETWORK,
            region=Region.NORTH,
            level=SupportLevel.L1,
            starts_at=utc(2025, 1, 6, 1),
            ends_at=utc(2025, 1, 6, 10, 30),
            kind="in_hours",
        )
    ]


def test_ics_tzid_in_another_zone_derives_kind_on_that_clock() -> None:
    text = ics(vevent("e1", "DTSTART;TZID=Europe/Paris:20250106T090000", "DTEND;TZID=Europe/Paris:20250106T120000"))
    (s,) = parse_roster_ics(text, **WINDOW)
    assert s.starts_at == utc(2025, 1, 6, 8)
    assert s.kind == "in_hours"


def test_ics_utc_event_derives_kind_on_the_default_zone_clock() -> None:
    text = ics(
        vevent("day", "DTSTART:20250106T010000Z", "DTEND:20250106T103000Z"),  # 08:00 in Vietnam
        vevent("night", "DTSTART:20250106T150000Z", "DTEND:20250106T230000Z"),  # 22:00 in Vietnam
    )
    day, night = parse_roster_ics(text, **WINDOW)
    assert (day.starts_at, day.kind) == (utc(2025, 1, 6, 1), "in_hours")
    assert (night.starts_at, night.kind) == (utc(2025, 1, 6, 15), "out_of_hours")


def test_ics_floating_time_is_in_the_default_zone() -> None:
    text = ics(vevent("e1", "DTSTART:20250106T080000", "DTEND:20250106T170000"))
    assert parse_roster_ics(text, **WINDOW)[0].starts_at == utc(2025, 1, 6, 1)
    assert parse_roster_ics(text, **WINDOW, default_time_zone="Europe/Paris")[0].starts_at == utc(2025, 1, 6, 7)


def test_ics_duration_instead_of_dtend_and_bytes_input() -> None:
    text = ics(vevent("e1", "DTSTART:20250106T220000", "DURATION:PT8H"))
    (s,) = parse_roster_ics(text.encode("utf-8"), **WINDOW)
    assert (s.starts_at, s.ends_at, s.kind) == (utc(2025, 1, 6, 15), utc(2025, 1, 6, 23), "out_of_hours")
    assert s.region is Region.NORTH  # "Bắc" survived the UTF-8 bytes


def test_ics_explicit_kind() -> None:
    text = ics(vevent("e1", "DTSTART:20250106T080000", "DTEND:20250106T170000", "X-CCDR-KIND:out_of_hours"))
    assert parse_roster_ics(text, **WINDOW)[0].kind == "out_of_hours"


def test_ics_rrule_weekly_is_expanded_inside_the_window_only() -> None:
    text = ics(
        vevent(
            "weekly",
            "DTSTART;TZID=Asia/Ho_Chi_Minh:20250106T080000",
            "DTEND;TZID=Asia/Ho_Chi_Minh:20250106T170000",
            "RRULE:FREQ=WEEKLY;BYDAY=MO",  # no end: only the window bounds it
        )
    )
    shifts = parse_roster_ics(text, window_start=utc(2025, 1, 10), window_end=utc(2025, 1, 28))
    assert [s.starts_at for s in shifts] == [utc(2025, 1, 13, 1), utc(2025, 1, 20, 1), utc(2025, 1, 27, 1)]
    assert {s.kind for s in shifts} == {"in_hours"}


def test_ics_rrule_with_exdate_and_a_cancelled_occurrence() -> None:
    text = ics(
        vevent(
            "weekly",
            "DTSTART:20250106T080000",
            "DTEND:20250106T170000",
            "RRULE:FREQ=WEEKLY;COUNT=4",
            "EXDATE:20250113T080000",
        ),
        vevent(
            "weekly",
            "RECURRENCE-ID:20250120T080000",
            "DTSTART:20250120T080000",
            "DTEND:20250120T170000",
            "STATUS:CANCELLED",
        ),
    )
    shifts = parse_roster_ics(text, **WINDOW)
    assert [s.starts_at for s in shifts] == [utc(2025, 1, 6, 1), utc(2025, 1, 27, 1)]


def test_ics_window_keeps_overlapping_shifts_and_places_floating_times_before_filtering() -> None:
    text = ics(
        vevent("before", "DTSTART:20250105T080000Z", "DTEND:20250105T090000Z"),
        vevent("overlaps-start", "DTSTART:20250105T220000Z", "DTEND:20250106T060000Z"),
        # 03:00 in Vietnam on the 10th is 20:00Z on the 9th: inside a window ending on the 10th at 00:00Z.
        vevent("floating-inside", "DTSTART:20250110T030000", "DTEND:20250110T050000"),
        # 08:00 in Vietnam on the 10th is 01:00Z: after the window although 08:00 < 00:00 + 14 h.
        vevent("floating-after", "DTSTART:20250110T080000", "DTEND:20250110T090000"),
        vevent("ends-at-start", "DTSTART:20250105T220000Z", "DTEND:20250106T000000Z"),
    )
    shifts = parse_roster_ics(text, window_start=utc(2025, 1, 6), window_end=utc(2025, 1, 10))
    assert [s.starts_at for s in shifts] == [utc(2025, 1, 5, 22), utc(2025, 1, 9, 20)]


def test_ics_attendee_and_categories_fallbacks() -> None:
    text = ics(
        vevent(
            "shared",
            "DTSTART:20250106T080000",
            "DTEND:20250106T170000",
            "ATTENDEE;CN=Nguyen Van Binh:mailto:binh@example.vn",
            "ATTENDEE:MAILTO:an@example.vn",
            "CATEGORIES:Roster,Data Center",
            fields=("X-CCDR-REGION:south", "X-CCDR-LEVEL:L2"),
        )
    )
    shifts = parse_roster_ics(text, **WINDOW)
    assert [s.agent_id for s in shifts] == ["an", "binh"]
    assert {(s.team, s.region, s.level) for s in shifts} == {(Team.DATACENTER, Region.SOUTH, SupportLevel.L2)}


def test_ics_custom_properties_win_over_attendee_and_categories() -> None:
    text = ics(
        vevent(
            "e1",
            "DTSTART:20250106T080000",
            "DTEND:20250106T170000",
            "ATTENDEE:mailto:binh@example.vn",
            "CATEGORIES:Camera",
        )
    )
    (s,) = parse_roster_ics(text, **WINDOW)
    assert (s.agent_id, s.team) == ("an", Team.NETWORK)


def test_ics_categories_over_several_lines() -> None:
    text = ics(
        vevent(
            "e1",
            "DTSTART:20250106T080000",
            "DTEND:20250106T170000",
            "CATEGORIES:Roster",
            "CATEGORIES:Alarm",
            fields=("X-CCDR-AGENT:an", "X-CCDR-REGION:north", "X-CCDR-LEVEL:L1"),
        )
    )
    assert parse_roster_ics(text, **WINDOW)[0].team is Team.ALARM


TIMES = ("DTSTART:20250106T080000", "DTEND:20250106T170000")


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (vevent("no-agent", *TIMES, fields=FIELDS[1:]), "event 'no-agent' at 2025-01-06 08:00:00: no agent"),
        (
            vevent("bad-attendee", *TIMES, "ATTENDEE:mailto:@example.vn", fields=FIELDS[1:]),
            "event 'bad-attendee' at 2025-01-06 08:00:00: no agent",
        ),
        (
            vevent("no-specialty", *TIMES, fields=(FIELDS[0], *FIELDS[2:])),
            "event 'no-specialty' at 2025-01-06 08:00:00: specialty: X-CCDR-SPECIALTY missing and "
            "CATEGORIES [] name none",
        ),
        (
            vevent("two-teams", *TIMES, "CATEGORIES:Network,Camera", fields=(FIELDS[0], *FIELDS[2:])),
            "event 'two-teams' at 2025-01-06 08:00:00: specialty: X-CCDR-SPECIALTY missing and CATEGORIES "
            "['Network', 'Camera'] name camera, network",
        ),
        (
            vevent("no-region", *TIMES, fields=(*FIELDS[:2], FIELDS[3])),
            "event 'no-region' at 2025-01-06 08:00:00: X-CCDR-REGION is missing",
        ),
        (
            vevent("no-level", *TIMES, fields=FIELDS[:3]),
            "event 'no-level' at 2025-01-06 08:00:00: X-CCDR-LEVEL is missing",
        ),
        (
            vevent("bad-level", *TIMES, fields=(*FIELDS[:3], "X-CCDR-LEVEL:L9")),
            "event 'bad-level' at 2025-01-06 08:00:00: level 'L9' is not one of L1, L2, L3",
        ),
        (
            vevent("bad-specialty", *TIMES, fields=(FIELDS[0], "X-CCDR-SPECIALTY:Plumbing", *FIELDS[2:])),
            "event 'bad-specialty' at 2025-01-06 08:00:00: specialty 'Plumbing' is not one of",
        ),
        (vevent("bad-kind", *TIMES, "X-CCDR-KIND:night"), "event 'bad-kind' at 2025-01-06 08:00:00: kind 'night'"),
        (vevent("no-start", "DTEND:20250106T170000"), "event 'no-start': DTSTART is missing"),
        (
            vevent("no-end", "DTSTART:20250106T080000"),
            "event 'no-end' at 2025-01-06 08:00:00: the shift ends before or when it starts",
        ),
        (
            vevent("backwards", "DTSTART:20250106T080000", "DTEND:20250106T070000"),
            "event 'backwards': DTEND is before DTSTART",
        ),
        (
            vevent("all-day", "DTSTART;VALUE=DATE:20250106", "DTEND;VALUE=DATE:20250107"),
            "event 'all-day' at 2025-01-06: DTSTART is a date (all-day event), a shift needs a time",
        ),
        (
            vevent("gap", "DTSTART;TZID=Europe/Paris:20250330T023000", "DTEND;TZID=Europe/Paris:20250330T080000"),
            "event 'gap' at 2025-03-30 02:30:00+01:00: DTSTART 2025-03-30 02:30 does not exist in Europe/Paris",
        ),
    ],
)
def test_ics_errors_name_the_event(event: str, message: str) -> None:
    with pytest.raises(RosterError) as caught:
        parse_roster_ics(ics(event), window_start=utc(2025, 1, 1), window_end=utc(2025, 12, 31))
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("data", ["", "not a calendar", b"\x00\x01"])
def test_ics_unreadable(data: str | bytes) -> None:
    with pytest.raises(RosterError, match="not an iCalendar file"):
        parse_roster_ics(data, **WINDOW)


def test_ics_without_events() -> None:
    assert parse_roster_ics(ics(), **WINDOW) == []


@pytest.mark.parametrize(
    ("window_start", "window_end", "message"),
    [
        (datetime(2025, 1, 1), utc(2025, 2, 1), "window_start must be timezone-aware"),
        (utc(2025, 1, 1), datetime(2025, 2, 1), "window_end must be timezone-aware"),
        (utc(2025, 2, 1), utc(2025, 1, 1), "window_end must be after window_start"),
        (utc(2025, 1, 1), utc(2025, 1, 1), "window_end must be after window_start"),
    ],
)
def test_ics_window_must_be_aware_and_ordered(window_start: datetime, window_end: datetime, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_roster_ics(ics(), window_start=window_start, window_end=window_end)


def test_ics_shifts_are_ordered_by_start_then_agent() -> None:
    text = ics(
        vevent("late", "DTSTART:20250106T100000", "DTEND:20250106T170000", fields=("X-CCDR-AGENT:an", *FIELDS[1:])),
        vevent("b", "DTSTART:20250106T080000", "DTEND:20250106T170000", fields=("X-CCDR-AGENT:binh", *FIELDS[1:])),
        vevent("a", "DTSTART:20250106T080000", "DTEND:20250106T170000", fields=("X-CCDR-AGENT:chi", *FIELDS[1:])),
    )
    assert [s.agent_id for s in parse_roster_ics(text, **WINDOW)] == ["binh", "chi", "an"]


# --- on_duty ---------------------------------------------------------------------------------

ROSTER = parse_roster_csv(
    csv_of(
        row("an", "Network", "north", "L1", MONDAY, "08:00", "17:30"),
        row("binh", "Network", "north", "L1", MONDAY, "07:00", "12:00"),
        row("chi", "Network", "south", "L1", MONDAY, "08:00", "17:30"),
        row("dung", "Network", "north", "L2", MONDAY, "08:00", "17:30"),
        row("em", "Server", "north", "L1", MONDAY, "08:00", "17:30"),
        row("an", "Network", "north", "L1", MONDAY, "12:00", "20:00"),  # overlapping second shift
        row("giang", "Network", "north", "L1", FRIDAY, "17:30", "00:00"),
        row("hoa", "Network", "north", "L1", FRIDAY, "22:00", "06:00"),
        row("khanh", "Network", "north", "L1", SATURDAY, "06:00", "12:00"),
    )
)


class TeamLevel(TypedDict):
    team: Team
    level: SupportLevel


NET: TeamLevel = {"team": Team.NETWORK, "level": SupportLevel.L1}


def test_on_duty_filters_team_region_level_and_orders_by_start_then_agent() -> None:
    at = datetime(2025, 1, 6, 13, tzinfo=HCM)
    assert on_duty(ROSTER, at, region=Region.NORTH, **NET) == ["an"]
    at = datetime(2025, 1, 6, 10, tzinfo=HCM)
    assert on_duty(ROSTER, at, region=Region.NORTH, **NET) == ["binh", "an"]
    assert on_duty(ROSTER, at, region=None, **NET) == ["binh", "an", "chi"]
    assert on_duty(ROSTER, at, region=Region.SOUTH, **NET) == ["chi"]
    assert on_duty(ROSTER, at, region=Region.CENTRAL, **NET) == []
    assert on_duty(ROSTER, at, team=Team.NETWORK, region=None, level=SupportLevel.L2) == ["dung"]
    assert on_duty(ROSTER, at, team=Team.SERVER, region=None, level=SupportLevel.L1) == ["em"]
    assert on_duty(ROSTER, at, team=Team.CAMERA, region=None, level=SupportLevel.L1) == []


def test_on_duty_lists_an_agent_with_overlapping_shifts_once() -> None:
    assert on_duty(ROSTER, datetime(2025, 1, 6, 12, 30, tzinfo=HCM), region=Region.NORTH, **NET) == ["an"]
    doubled = [*ROSTER, *ROSTER]
    assert on_duty(doubled, datetime(2025, 1, 6, 10, tzinfo=HCM), region=None, **NET) == ["binh", "an", "chi"]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime(2025, 1, 6, 6, 59, 59, tzinfo=HCM), []),
        (datetime(2025, 1, 6, 7, 0, tzinfo=HCM), ["binh"]),  # start inclusive
        (utc(2025, 1, 6, 0), ["binh"]),  # the same instant, in UTC
        (datetime(2025, 1, 6, 11, 59, 59, 999999, tzinfo=HCM), ["binh", "an"]),
        (datetime(2025, 1, 6, 12, 0, tzinfo=HCM), ["an"]),  # binh's end exclusive, an's second shift starts
        (datetime(2025, 1, 6, 19, 59, tzinfo=HCM), ["an"]),
        (datetime(2025, 1, 6, 20, 0, tzinfo=HCM), []),
    ],
)
def test_on_duty_at_shift_boundaries(at: datetime, expected: list[str]) -> None:
    assert on_duty(ROSTER, at, region=Region.NORTH, **NET) == expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime(2025, 1, 10, 21, 59, tzinfo=HCM), ["giang"]),
        (datetime(2025, 1, 10, 23, 59, 59, tzinfo=HCM), ["giang", "hoa"]),
        (datetime(2025, 1, 11, 0, 0, tzinfo=HCM), ["hoa"]),  # giang's shift ends at midnight
        (datetime(2025, 1, 11, 5, 59, tzinfo=HCM), ["hoa"]),
        (datetime(2025, 1, 11, 6, 0, tzinfo=HCM), ["khanh"]),  # handover at 06:00
    ],
)
def test_on_duty_across_midnight(at: datetime, expected: list[str]) -> None:
    assert on_duty(ROSTER, at, region=Region.NORTH, **NET) == expected


def test_on_duty_at_a_time_zone_boundary() -> None:
    # Friday 23:30 in Vietnam is Friday 16:30Z; Friday 23:30Z is already Saturday 06:30 in Vietnam.
    assert on_duty(ROSTER, datetime(2025, 1, 10, 23, 30, tzinfo=HCM), region=None, **NET) == ["giang", "hoa"]
    assert on_duty(ROSTER, utc(2025, 1, 10, 16, 30), region=None, **NET) == ["giang", "hoa"]
    assert on_duty(ROSTER, utc(2025, 1, 10, 23, 30), region=None, **NET) == ["khanh"]
    assert on_duty(ROSTER, datetime(2025, 1, 11, 0, 30, tzinfo=PARIS), region=None, **NET) == ["khanh"]


def test_on_duty_needs_an_aware_instant_even_with_no_shifts() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        on_duty([], datetime(2025, 1, 6, 8), region=None, **NET)


def test_on_duty_accepts_any_iterable() -> None:
    at = datetime(2025, 1, 6, 10, tzinfo=HCM)
    assert on_duty(iter(ROSTER), at, region=Region.NORTH, **NET) == ["binh", "an"]


# --- pick_assignee ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidates", "present", "load", "expected"),
    [
        (["an", "binh", "chi"], {"an", "binh", "chi"}, {"an": 3, "binh": 1, "chi": 2}, "binh"),
        (["an", "binh", "chi"], {"an", "binh", "chi"}, {"an": 2, "binh": 1, "chi": 1}, "binh"),  # tie: order
        (["chi", "binh", "an"], {"an", "binh", "chi"}, {"an": 2, "binh": 1, "chi": 1}, "chi"),
        (["an", "binh"], {"an", "binh"}, {}, "an"),  # nobody has a load: the first
        (["an", "binh"], {"an", "binh"}, {"an": 1}, "binh"),  # missing load counts as 0
        (["an", "binh", "chi"], {"chi"}, {"chi": 9}, "chi"),  # the only one present
        (["an", "binh"], {"binh", "dung"}, {"binh": 5, "dung": 0}, "binh"),  # present but not on duty: ignored
        (["an", "binh"], set(), {}, None),
        ([], {"an"}, {}, None),
        (["an", "an", "binh"], {"an", "binh"}, {"an": 1, "binh": 1}, "an"),
    ],
)
def test_pick_assignee(candidates: list[str], present: set[str], load: dict[str, int], expected: str | None) -> None:
    assert pick_assignee(candidates, present, load) == expected


def test_pick_assignee_accepts_any_collection() -> None:
    assert pick_assignee(("an", "binh"), frozenset({"binh"}), {"binh": 2}) == "binh"
    assert pick_assignee(["an", "binh"], ["binh", "an"], {"an": 1}) == "binh"


def test_roster_to_on_duty_to_assignee() -> None:
    at = datetime(2025, 1, 6, 10, tzinfo=HCM)
    candidates = on_duty(ROSTER, at, region=Region.NORTH, **NET)
    assert pick_assignee(candidates, present={"an", "binh"}, load={"binh": 4, "an": 1}) == "an"
    assert pick_assignee(candidates, present={"chi"}, load={}) is None


# --- properties ------------------------------------------------------------------------------

BASE = utc(2025, 1, 6)
AGENTS = ["an", "binh", "chi", "dung", "em"]
ZONES = [UTC, HCM, PARIS, ZoneInfo("America/New_York"), ZoneInfo("Pacific/Kiritimati")]


agent_ids = st.text(alphabet="abcdefđăêôơư._-, \"'\n\u00e9ABC012", min_size=1, max_size=12).map(str.strip).filter(bool)


@st.composite
def shifts(draw: st.DrawFn, *, any_agent_id: bool = False) -> Shift:
    """Minute-aligned starts over two weeks, so instants often fall on a boundary."""
    start = BASE + timedelta(minutes=draw(st.integers(0, 14 * 24 * 60)))
    length = timedelta(minutes=draw(st.integers(1, 24 * 60 if any_agent_id else 48 * 60)))
    zone = draw(st.sampled_from(ZONES))
    return Shift(
        agent_id=draw(agent_ids if any_agent_id else st.sampled_from(AGENTS)),
        team=draw(st.sampled_from([Team.NETWORK, Team.SERVER, Team.CABLING])),
        region=draw(st.sampled_from(Region)),
        level=draw(st.sampled_from(SupportLevel)),
        starts_at=start.astimezone(zone),
        ends_at=(start + length).astimezone(zone),
        kind=draw(st.sampled_from(["in_hours", "out_of_hours"])),
    )


@given(
    roster=st.lists(shifts(), max_size=25),
    offset=st.integers(-60, 16 * 24 * 60),
    zone=st.sampled_from(ZONES),
    team=st.sampled_from([Team.NETWORK, Team.SERVER, Team.CABLING]),
    region=st.none() | st.sampled_from(Region),
    level=st.sampled_from(SupportLevel),
)
def test_on_duty_is_exactly_the_covering_agents(
    roster: list[Shift], offset: int, zone: ZoneInfo, team: Team, region: Region | None, level: SupportLevel
) -> None:
    at = (BASE + timedelta(minutes=offset)).astimezone(zone)
    covering = [
        s
        for s in roster
        if s.team == team
        and s.level == level
        and (region is None or s.region == region)
        and s.starts_at <= at.astimezone(UTC) < s.ends_at
    ]
    first_start = {
        agent: min(s.starts_at for s in covering if s.agent_id == agent) for agent in {s.agent_id for s in covering}
    }
    result = on_duty(roster, at, team=team, region=region, level=level)
    assert sorted(result) == sorted(first_start)  # the same agents, each once
    assert result == sorted(first_start, key=lambda agent: (first_start[agent], agent))


@given(roster=st.lists(shifts(any_agent_id=True), max_size=15))
def test_roster_csv_round_trip(roster: list[Shift]) -> None:
    assert parse_roster_csv(roster_to_csv(roster)) == roster


@given(
    day=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)),
    start=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    end=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    zone=st.sampled_from(["Asia/Ho_Chi_Minh", "Europe/Paris", "America/New_York", "UTC"]),
)
def test_csv_local_times_survive_or_are_refused(day: date, start: time, end: time, zone: str) -> None:
    line = row(day=f"{day}", start=f"{start:%H:%M}", end=f"{end:%H:%M}", zone=zone)
    try:
        (s,) = parse_roster_csv(csv_of(line))
    except RosterError as error:
        assert "DST gap" in str(error)
        assert zone in {"Europe/Paris", "America/New_York"}
        return
    local_start, local_end = s.starts_at.astimezone(ZoneInfo(zone)), s.ends_at.astimezone(ZoneInfo(zone))
    assert (local_start.date(), local_start.time()) == (day, start)
    assert local_end.time() == end
    assert local_end.date() == local_start.date() + timedelta(days=end <= start)
    assert timedelta(0) < s.ends_at - s.starts_at <= timedelta(hours=25)
    if zone in {"Asia/Ho_Chi_Minh", "UTC"}:
        minutes = (end.hour * 60 + end.minute - start.hour * 60 - start.minute) % (24 * 60) or 24 * 60
        assert s.ends_at - s.starts_at == timedelta(minutes=minutes)
