"""Who should work which open ticket, decided on a snapshot. Pure: no I/O.

New tickets go to the on-duty, present (status available) engineer of the ticket's team, region
and support level with the fewest open tickets. A ticket whose assignee has been absent (no
presence at any site) for longer than the grace goes to someone present, the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.agents.domain.roster import Shift, on_duty, pick_assignee
from core.domain.escalation import SupportLevel
from core.domain.routing import Team
from core.domain.taxonomy import Region


@dataclass(frozen=True)
class OpenTicket:
    code: str
    assignee: str | None
    team: Team
    region: Region | None
    level: SupportLevel


@dataclass(frozen=True)
class Assignment:
    code: str
    agent: str
    expected: str | None  # the assignee the ticket must still have (compare-and-set)
    reason: str


def absences(
    previous: Mapping[str, datetime], assignees: Iterable[str], present: Iterable[str], now: datetime
) -> dict[str, datetime]:
    """Since when each assignee has been seen absent (kept in memory by the dispatcher: a new
    leader starts counting afresh, which only delays a re-route, never hastens one)."""
    here = set(present)
    return {a: previous.get(a, now) for a in set(assignees) if a not in here}


def takers(shifts: Iterable[Shift], available: Iterable[str]) -> list[tuple[str, str, str]]:
    """(team, level, region) of every shift in `shifts` (those covering now) whose agent is present:
    the kinds of unassigned ticket someone could take now (a ticket without a region: any of them)."""
    ready = set(available)
    return sorted({(s.team.value, s.level.value, s.region.value) for s in shifts if s.agent_id in ready})


def plan(
    tickets: Sequence[OpenTicket],
    shifts: Sequence[Shift],
    available: Iterable[str],
    absent_since: Mapping[str, datetime],
    grace: timedelta,
    now: datetime,
    open_load: Mapping[str, int] | None = None,
) -> list[Assignment]:
    """`tickets` are those that may need an assignee; `open_load` counts every open ticket per agent
    (when absent, the load is counted from `tickets`, which must then be every open ticket)."""
    ready = set(available)
    load = Counter(open_load) if open_load is not None else Counter(t.assignee for t in tickets if t.assignee)
    out: list[Assignment] = []
    for t in tickets:
        if t.assignee is None:
            why = "new ticket"
        elif t.assignee in absent_since and now - absent_since[t.assignee] >= grace:
            why = f"{t.assignee} absent since {absent_since[t.assignee]:%H:%M:%S}Z (grace {grace})"
        else:
            continue
        candidates = [a for a in on_duty(shifts, now, team=t.team, region=t.region, level=t.level) if a != t.assignee]
        agent = pick_assignee(candidates, ready, load)
        if agent is None:
            continue  # nobody on duty and present: it waits (the SLA clock escalates if it must)
        load[agent] += 1
        if t.assignee:
            load[t.assignee] -= 1
        region = t.region.value if t.region else "any region"
        out.append(Assignment(t.code, agent, t.assignee, f"{why}: on duty for {t.team}/{region}/{t.level}"))
    return out
