"""Duty roster: who is on duty, by team, region and level, and whom to hand a ticket to.
Pure: no I/O; the roster (updated every two weeks) arrives as CSV or iCalendar text.

CSV, one shift per row, header (column order free, names case-insensitive):

    agent_id,specialty,region,level,date,start,end,time_zone,kind

- date: YYYY-MM-DD; start/end: HH:MM local time in time_zone (column optional; empty means the
  default zone, Asia/Ho_Chi_Minh). An end <= start crosses midnight (end == start: 24 hours).
- specialty: Network, System/Server, DataCenter/DC, Cabling, Devices, Camera, Alarm, Service Desk
  or a Team value; region: north/central/south or Bắc/Trung/Nam (miền Bắc ...); level: L1/L2/L3.
- kind (optional): in_hours or out_of_hours; empty: in_hours when the shift starts 08:00-17:29 local
  on Monday-Friday. Public holidays are not considered.
- A local time skipped by a DST change is refused; an ambiguous one takes its first occurrence.

iCalendar: each VEVENT is a shift (RRULEs expanded within a window; STATUS:CANCELLED skipped), with
X-CCDR-AGENT (else each ATTENDEE mailto: local part), X-CCDR-SPECIALTY (else CATEGORIES),
X-CCDR-REGION, X-CCDR-LEVEL and optional X-CCDR-KIND. Floating times are in the default zone; kind
is derived in the event's TZID zone (the default zone for UTC and floating times).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events
from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator, model_validator

from core.domain.escalation import SupportLevel
from core.domain.routing import Team, fold
from core.domain.taxonomy import Region

Kind = Literal["in_hours", "out_of_hours"]
COLUMNS = ("agent_id", "specialty", "region", "level", "date", "start", "end", "time_zone", "kind")
OPTIONAL_COLUMNS = frozenset({"time_zone", "kind"})
IN_HOURS_FROM, IN_HOURS_UNTIL = time(8, 0), time(17, 30)  # start in [08:00, 17:30), Mon-Fri

_SPECIALTIES: dict[str, Team] = {
    "network": Team.NETWORK, "system": Team.SERVER, "systems": Team.SERVER, "server": Team.SERVER,
    "datacenter": Team.DATACENTER, "dc": Team.DATACENTER, "cabling": Team.CABLING,
    "devices": Team.DEVICES, "device": Team.DEVICES, "camera": Team.CAMERA, "alarm": Team.ALARM,
    "servicedesk": Team.SERVICE_DESK,
}  # fmt: skip
_SPECIALTY_NAMES = "Network, System/Server, DataCenter/DC, Cabling, Devices, Camera, Alarm, Service Desk"
_REGIONS: dict[str, Region] = {
    "north": Region.NORTH, "bac": Region.NORTH, "central": Region.CENTRAL, "trung": Region.CENTRAL,
    "south": Region.SOUTH, "nam": Region.SOUTH,
}  # fmt: skip


class RosterError(ValueError):
    """A roster that cannot be trusted: the message names the line (or event) and the field."""


class Shift(BaseModel):
    model_config = ConfigDict(frozen=True)

    agent_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    team: Team
    region: Region
    level: SupportLevel
    starts_at: datetime
    ends_at: datetime
    kind: Kind

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        _require_aware(value, "shift times")
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _ordered(self) -> Shift:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self

    def covers(self, at: datetime) -> bool:
        _require_aware(at, "at")
        return self.starts_at <= at < self.ends_at


def _require_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")


def specialty_to_team(text: str) -> Team:
    team = _SPECIALTIES.get(re.sub(r"[^a-z0-9]", "", fold(text)))
    if team is None:
        raise RosterError(f"specialty {text!r} is not one of {_SPECIALTY_NAMES}")
    return team


def _region(text: str) -> Region:
    region = _REGIONS.get(re.sub(r"^mien |\sbo$", "", fold(text)))
    if region is None:
        raise RosterError(f"region {text!r} is not one of north, central, south (Bắc, Trung, Nam)")
    return region


def _level(text: str) -> SupportLevel:
    try:
        return SupportLevel(text.strip().upper())
    except ValueError:
        raise RosterError(f"level {text!r} is not one of L1, L2, L3") from None


def _kind(text: str) -> Kind:
    value = re.sub(r"[\s-]+", "_", fold(text))
    if value == "in_hours":
        return "in_hours"
    if value == "out_of_hours":
        return "out_of_hours"
    raise RosterError(f"kind {text!r} is not one of in_hours, out_of_hours")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise RosterError(f"time_zone {name!r} is not a known IANA time zone") from None


def _derived_kind(local_start: datetime) -> Kind:
    in_hours = local_start.weekday() < 5 and IN_HOURS_FROM <= local_start.time() < IN_HOURS_UNTIL
    return "in_hours" if in_hours else "out_of_hours"


def _existing(local: datetime, what: str) -> datetime:
    """Refuses a wall-clock time that a DST change skips (it does not survive a UTC round trip)."""
    assert local.tzinfo is not None
    if local.astimezone(UTC).astimezone(local.tzinfo).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise RosterError(f"{what} {local:%Y-%m-%d %H:%M} does not exist in {local.tzinfo} (DST gap)")
    return local


def _date(text: str) -> date:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            pass
    raise RosterError(f"date {text!r} is not a YYYY-MM-DD date")


def _time(text: str, field: str) -> time:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return time(int(match[1]), int(match[2]))
    raise RosterError(f"{field} {text!r} is not an HH:MM time (00:00-23:59)")


def _csv_row(row: dict[str, str], default_zone: ZoneInfo) -> Shift:
    for column in COLUMNS:
        if column not in OPTIONAL_COLUMNS and not row.get(column, "").strip():
            raise RosterError(f"{column} is empty")
    team, region, level = specialty_to_team(row["specialty"]), _region(row["region"]), _level(row["level"])
    day, start, end = _date(row["date"]), _time(row["start"], "start"), _time(row["end"], "end")
    zone = _zone(row["time_zone"]) if row.get("time_zone", "").strip() else default_zone
    starts = _existing(datetime.combine(day, start, zone), "start")
    ends = _existing(datetime.combine(day + timedelta(days=end <= start), end, zone), "end")
    kind = _kind(row["kind"]) if row.get("kind", "").strip() else _derived_kind(starts)
    return Shift(
        agent_id=row["agent_id"], team=team, region=region, level=level, starts_at=starts, ends_at=ends, kind=kind
    )


def parse_roster_csv(text: str, *, default_time_zone: str = "Asia/Ho_Chi_Minh") -> list[Shift]:
    """Shifts in file order; the first bad row stops the import (a half-read roster misroutes)."""
    default_zone = _zone(default_time_zone)
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    try:
        header = [name.strip().casefold() for name in next(reader, [])]
        if not any(header):
            raise RosterError("line 1: empty roster, expected the header " + ",".join(COLUMNS))
        unknown = [name for name in header if name not in COLUMNS]
        duplicated = sorted({name for name in header if header.count(name) > 1})
        missing = [name for name in COLUMNS if name not in header and name not in OPTIONAL_COLUMNS]
        if unknown or duplicated or missing:
            problems = [
                f"{label} column(s) {', '.join(names)}"
                for label, names in (("missing", missing), ("unknown", unknown), ("duplicated", duplicated))
                if names
            ]
            raise RosterError(f"line 1: {'; '.join(problems)}; expected the header {','.join(COLUMNS)}")
        shifts: list[Shift] = []
        for fields in reader:
            if not any(field.strip() for field in fields):
                continue
            if len(fields) > len(header):
                raise RosterError(f"line {reader.line_num}: {len(fields)} fields, the header has {len(header)}")
            try:
                shifts.append(_csv_row(dict(zip(header, fields + [""] * len(header), strict=False)), default_zone))
            except RosterError as error:
                raise RosterError(f"line {reader.line_num}: {error}") from None
    except csv.Error as error:
        raise RosterError(f"line {reader.line_num}: malformed CSV: {error}") from None
    return shifts


def roster_to_csv(shifts: Iterable[Shift]) -> str:
    """UTC times with an explicit kind, so parse_roster_csv reads back the same shifts."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for shift in shifts:
        start, end = shift.starts_at, shift.ends_at
        if end - start > timedelta(days=1) or any(t.second or t.microsecond for t in (start, end)):
            where = f"shift of {shift.agent_id} at {start:%Y-%m-%dT%H:%M:%SZ}"
            raise RosterError(f"{where}: the CSV holds whole minutes and at most 24 hours")
        fields = [shift.agent_id, shift.team, shift.region, shift.level, start.date().isoformat()]
        writer.writerow([*fields, f"{start:%H:%M}", f"{end:%H:%M}", "UTC", shift.kind])
    return out.getvalue()


def _text(component: Any, name: str) -> str:
    value = component.get(name)
    return str(value[0] if isinstance(value, list) else value).strip() if value is not None else ""


def _dt(component: Any, name: str) -> Any:
    """The `.dt` (a date or a datetime) of a DTSTART/DTEND property; icalendar types a property
    as the union of every value type, most of which have no `.dt`."""
    return component[name].dt


def _as_list(value: Any) -> list[Any]:
    return [] if value is None else value if isinstance(value, list) else [value]


def _ics_agents(event: Any) -> list[str]:
    if agent := _text(event, "X-CCDR-AGENT"):
        return [agent]
    agents = []
    for attendee in _as_list(event.get("ATTENDEE")):
        address = re.sub(r"(?i)^mailto:", "", str(attendee).strip())
        if local := address.split("@", 1)[0].strip():
            agents.append(local)
    if not agents:
        raise RosterError("no agent: X-CCDR-AGENT or a mailto: ATTENDEE is required")
    return agents


def _ics_team(event: Any) -> Team:
    if specialty := _text(event, "X-CCDR-SPECIALTY"):
        return specialty_to_team(specialty)
    names = [str(name) for cats in _as_list(event.get("CATEGORIES")) for name in getattr(cats, "cats", [cats])]
    teams = {_SPECIALTIES[key] for name in names if (key := re.sub(r"[^a-z0-9]", "", fold(name))) in _SPECIALTIES}
    if len(teams) != 1:
        found = "none" if not teams else ", ".join(sorted(teams))
        raise RosterError(f"specialty: X-CCDR-SPECIALTY missing and CATEGORIES {names} name {found} of the teams")
    return teams.pop()


def _ics_time(value: Any, what: str, default_zone: ZoneInfo) -> datetime:
    if not isinstance(value, datetime):
        raise RosterError(f"{what} is a date (all-day event), a shift needs a time")
    return _existing(value if value.tzinfo is not None else value.replace(tzinfo=default_zone), what)


def _backwards(start: Any, end: Any, default_zone: ZoneInfo) -> bool:
    if isinstance(start, datetime) and isinstance(end, datetime):
        start, end = (t if t.tzinfo else t.replace(tzinfo=default_zone) for t in (start, end))
    return type(start) is type(end) and end < start


def _ics_shifts(event: Any, default_zone: ZoneInfo) -> list[Shift]:
    for name in ("X-CCDR-REGION", "X-CCDR-LEVEL"):
        if not _text(event, name):
            raise RosterError(f"{name} is missing")
    region, level, team = _region(_text(event, "X-CCDR-REGION")), _level(_text(event, "X-CCDR-LEVEL")), _ics_team(event)
    starts = _ics_time(event.start, "DTSTART", default_zone)
    ends = _ics_time(event.end, "DTEND", default_zone)
    if ends <= starts:
        raise RosterError("the shift ends before or when it starts (DTEND/DURATION)")
    if kind_text := _text(event, "X-CCDR-KIND"):
        kind = _kind(kind_text)
    else:  # UTC is nobody's office hours: judge a "Z" time on the default zone's clock
        utc = starts.tzinfo is UTC or getattr(starts.tzinfo, "key", None) in {"UTC", "Etc/UTC"}
        kind = _derived_kind(starts.astimezone(default_zone) if utc else starts)
    return [
        Shift(agent_id=agent, team=team, region=region, level=level, starts_at=starts, ends_at=ends, kind=kind)
        for agent in _ics_agents(event)
    ]


def parse_roster_ics(
    data: str | bytes, *, window_start: datetime, window_end: datetime, default_time_zone: str = "Asia/Ho_Chi_Minh"
) -> list[Shift]:
    """Shifts overlapping [window_start, window_end), ordered by start then agent; recurring
    events only yield the occurrences in the window (an RRULE may have no end)."""
    _require_aware(window_start, "window_start")
    _require_aware(window_end, "window_end")
    if window_end <= window_start:
        raise ValueError("window_end must be after window_start")
    default_zone = _zone(default_time_zone)
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError as error:
        raise RosterError(f"not an iCalendar file: {error}") from None
    for event in calendar.walk("VEVENT"):  # recurring_ical_events fails on these, or swaps the ends
        if "DTSTART" not in event:
            raise RosterError(f"event {_text(event, 'UID')!r}: DTSTART is missing")
        if _backwards(_dt(event, "DTSTART"), _dt(event, "DTEND") if "DTEND" in event else None, default_zone):
            raise RosterError(f"event {_text(event, 'UID')!r}: DTEND is before DTSTART")
    # Widened by a day: floating times are placed in the default zone only after expansion.
    margin = timedelta(days=1)
    shifts: list[Shift] = []
    try:
        events = list(recurring_ical_events.of(calendar).between(window_start - margin, window_end + margin))
    except ValueError as error:  # recurring_ical_events.InvalidCalendar, an unreadable RRULE
        raise RosterError(f"invalid calendar: {error}") from None
    for event in events:
        if _text(event, "STATUS").upper() == "CANCELLED":
            continue
        try:
            shifts.extend(_ics_shifts(event, default_zone))
        except (RosterError, icalendar.IncompleteComponent) as error:
            raise RosterError(f"event {_text(event, 'UID')!r} at {event.get('DTSTART').dt}: {error}") from None
    window = [s for s in shifts if s.starts_at < window_end and s.ends_at > window_start]
    return sorted(window, key=lambda s: (s.starts_at, s.agent_id))


def on_duty(
    shifts: Iterable[Shift], at: datetime, *, team: Team, region: Region | None, level: SupportLevel
) -> list[str]:
    """Agent ids on duty at `at`, earliest shift first (then by id), each once; region None: any."""
    _require_aware(at, "at")
    matching = sorted(
        (s for s in shifts if s.team == team and s.level == level and region in (None, s.region) and s.covers(at)),
        key=lambda s: (s.starts_at, s.agent_id),
    )
    return list(dict.fromkeys(s.agent_id for s in matching))


def pick_assignee(candidates_on_duty: Sequence[str], present: Collection[str], load: Mapping[str, int]) -> str | None:
    """Least-loaded present agent; ties keep the on-duty order, so repeated calls are stable."""
    available = [agent for agent in candidates_on_duty if agent in present]
    return min(available, key=lambda agent: load.get(agent, 0)) if available else None
