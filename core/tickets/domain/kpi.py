"""The desk's KPIs over a reporting period (seed 004: response time, time to resolve, SLA
compliance, first-time-fix rate, MTTR, MTBF, CSAT, backlog and top causes). Pure: ticket facts in,
figures out; the store reads the facts (core.tickets.store.kpi), the CLI prints them.

Definitions, so a figure can be checked by hand:
- a ticket belongs to the period it was *received* in (its figures may complete later);
- first response: received → responded; time to resolve: received → resolved (wall clock);
- SLA compliance: responded (resolved) at or before its due time, of those that had a target and
  have responded (resolved); a ticket past its due time that has not is counted as missed;
- first-time fix: resolved, never reopened, and with at most one completed on-site visit (no
  return visit);
- MTTR: the mean time to resolve; MTBF per asset (and per customer): the mean time between the
  incidents of an asset (a customer) with two or more in the period;
- response and resolution SLA compliance by priority, team and region;
- CSAT: the mean score and the share of resolved tickets that have one;
- backlog: tickets open at the end of the period (received before it, whenever, and not resolved
  before it), by their age then; the facts include the older tickets that were still open."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import pairwise
from statistics import fmean, median
from zoneinfo import ZoneInfo

PRIORITIES = ("P1", "P2", "P3", "P4")
BACKLOG_AGES = ((timedelta(hours=4), "< 4 h"), (timedelta(days=1), "4 to 24 h"), (timedelta(days=3), "1 to 3 d"))
OLDEST = "> 3 d"
TOP_CAUSES = 5
UNKNOWN_REGION = "unknown"


class PeriodError(ValueError):
    """Not a period ccdr can report on (the message says which forms are)."""


@dataclass(frozen=True)
class Period:
    label: str
    start: datetime  # inclusive, aware
    end: datetime  # exclusive


def parse_period(text: str, tz: ZoneInfo) -> Period:
    """2026-W49 (ISO week), 2026-12 (month) or 2026-Q4 (quarter), in the desk's time zone."""
    if m := re.fullmatch(r"(\d{4})-W(\d{2})", text):
        try:
            first = date.fromisocalendar(int(m[1]), int(m[2]), 1)
        except ValueError:
            raise PeriodError(f"{text}: no such ISO week") from None
        return _period(text, first, first + timedelta(days=7), tz)
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise PeriodError(f"{text}: no such month")
        nxt = date(year + month // 12, month % 12 + 1, 1)
        return _period(text, date(year, month, 1), nxt, tz)
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", text):
        year, q = int(m[1]), int(m[2])
        start = date(year, 3 * q - 2, 1)
        end = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
        return _period(text, start, end, tz)
    raise PeriodError(f"{text!r} is not a period: use 2026-W49 (week), 2026-12 (month) or 2026-Q4 (quarter)")


def week_label(day: date) -> str:
    """The ISO week `day` falls in, as a period label (2026-W48)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def previous_period(kind: str, now: datetime, tz: ZoneInfo) -> str:
    """The label of the last complete week or month before `now`, in the desk's time zone (what a
    scheduled report covers: run on Monday, it reports the week that just ended)."""
    today = now.astimezone(tz).date()
    if kind == "week":
        return week_label(today - timedelta(days=7))
    if kind == "month":
        last = today.replace(day=1) - timedelta(days=1)
        return f"{last.year}-{last.month:02d}"
    raise PeriodError(f"{kind}: a scheduled report is a week or a month")


def _period(label: str, start: date, end: date, tz: ZoneInfo) -> Period:
    return Period(
        label, datetime.combine(start, datetime.min.time(), tz), datetime.combine(end, datetime.min.time(), tz)
    )


@dataclass(frozen=True)
class TicketFacts:
    code: str
    priority: str
    team: str
    region: str | None
    asset_serial: str | None
    received_at: datetime
    response_due: datetime | None
    responded_at: datetime | None
    resolution_due: datetime | None
    resolved_at: datetime | None
    csat_score: int | None
    root_cause: str | None
    reopened: bool
    customer_id: str | None = None
    visits: int = 0  # completed on-site visits


@dataclass(frozen=True)
class Times:
    count: int
    p50_min: float | None
    mean_min: float | None


@dataclass(frozen=True)
class Compliance:
    judged: int
    met: int

    @property
    def share(self) -> float | None:
        return self.met / self.judged if self.judged else None


@dataclass(frozen=True)
class PriorityFigures:
    priority: str
    received: int
    first_response: Times
    time_to_resolve: Times
    response_sla: Compliance
    resolution_sla: Compliance


@dataclass
class DeskReport:
    period: Period
    received: int
    resolved: int
    by_priority: list[PriorityFigures]
    by_team: dict[str, Compliance]  # resolution SLA by team
    by_region: dict[str, Compliance]  # resolution SLA by region ("unknown": none was found)
    response_by_team: dict[str, Compliance]
    response_by_region: dict[str, Compliance]
    first_time_fix: Compliance  # judged: resolved tickets; met: never reopened, no return visit
    mttr_min: float | None
    mtbf_h_by_asset: dict[str, float]
    mtbf_h_by_customer: dict[str, float]
    csat_mean: float | None
    csat_response: Compliance  # judged: resolved; met: with a score
    backlog: dict[str, int]
    top_causes: list[tuple[str, int]] = field(default_factory=list)


def _minutes(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60


def _times(values: Sequence[float]) -> Times:
    return Times(len(values), median(values) if values else None, fmean(values) if values else None)


def _sla(facts: Sequence[TicketFacts], due: str, done: str, now: datetime) -> Compliance:
    judged = met = 0
    for f in facts:
        target, at = getattr(f, due), getattr(f, done)
        if target is None:
            continue
        if at is not None:
            judged, met = judged + 1, met + (at <= target)
        elif target < now:  # past due and still not done: missed
            judged += 1
    return Compliance(judged, met)


def _mtbf(facts: Sequence[TicketFacts], key: Callable[[TicketFacts], str | None]) -> dict[str, float]:
    """Mean hours between incidents, per key (an asset, a customer) with two or more."""
    times: dict[str, list[datetime]] = {}
    for f in facts:
        k = key(f)
        if k:
            times.setdefault(k, []).append(f.received_at)
    out = {}
    for k, ts in times.items():
        if len(ts) >= 2:
            out[k] = fmean([(b - a).total_seconds() / 3600 for a, b in pairwise(sorted(ts))])
    return dict(sorted(out.items()))


def compute(facts: Sequence[TicketFacts], period: Period, now: datetime) -> DeskReport:
    """The period's figures; `facts` are the tickets received in it, plus older ones for the backlog
    (the others count only there)."""
    mine = [f for f in facts if period.start <= f.received_at < period.end]
    end = min(now, period.end)
    resolved = [f for f in mine if f.resolved_at is not None]
    by_priority = []
    for p in PRIORITIES:
        of_p = [f for f in mine if f.priority == p]
        by_priority.append(
            PriorityFigures(
                priority=p,
                received=len(of_p),
                first_response=_times([_minutes(f.received_at, f.responded_at) for f in of_p if f.responded_at]),
                time_to_resolve=_times([_minutes(f.received_at, f.resolved_at) for f in of_p if f.resolved_at]),
                response_sla=_sla(of_p, "response_due", "responded_at", now),
                resolution_sla=_sla(of_p, "resolution_due", "resolved_at", now),
            )
        )
    teams = sorted({f.team for f in mine})
    regions = sorted({f.region or UNKNOWN_REGION for f in mine})
    of_team = {t: [f for f in mine if f.team == t] for t in teams}
    of_region = {r: [f for f in mine if (f.region or UNKNOWN_REGION) == r] for r in regions}
    scores = [f.csat_score for f in resolved if f.csat_score is not None]
    backlog = Counter[str]()
    for f in facts:
        if f.received_at < end and (f.resolved_at is None or f.resolved_at >= end):
            age = end - f.received_at
            backlog[next((label for bound, label in BACKLOG_AGES if age < bound), OLDEST)] += 1
    causes = Counter(" ".join(f.root_cause.split()).lower() for f in resolved if f.root_cause)
    return DeskReport(
        period=period,
        received=len(mine),
        resolved=len(resolved),
        by_priority=by_priority,
        by_team={t: _sla(of_team[t], "resolution_due", "resolved_at", now) for t in teams},
        by_region={r: _sla(of_region[r], "resolution_due", "resolved_at", now) for r in regions},
        response_by_team={t: _sla(of_team[t], "response_due", "responded_at", now) for t in teams},
        response_by_region={r: _sla(of_region[r], "response_due", "responded_at", now) for r in regions},
        first_time_fix=Compliance(len(resolved), sum(1 for f in resolved if not f.reopened and f.visits <= 1)),
        mttr_min=fmean([_minutes(f.received_at, f.resolved_at) for f in resolved if f.resolved_at])
        if resolved
        else None,
        mtbf_h_by_asset=_mtbf(mine, lambda f: f.asset_serial),
        mtbf_h_by_customer=_mtbf(mine, lambda f: f.customer_id),
        csat_mean=fmean(scores) if scores else None,
        csat_response=Compliance(len(resolved), len(scores)),
        backlog={label: backlog.get(label, 0) for label in [*(label for _, label in BACKLOG_AGES), OLDEST]},
        top_causes=causes.most_common(TOP_CAUSES),
    )


__all__ = ["DeskReport", "Period", "PeriodError", "TicketFacts", "compute", "parse_period", "previous_period"]
