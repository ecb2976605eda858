"""The supervisor's wallboard, as data: open tickets by priority and team with their SLA state,
recent escalations, who is on duty and where they are signed in, and the intake rate. Pure."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

PRIORITIES = ("P1", "P2", "P3", "P4")


@dataclass(frozen=True)
class OpenCount:
    priority: str
    team: str
    region: str | None
    sla: str  # core.tickets.domain.lifecycle.ClockState value
    count: int


@dataclass(frozen=True)
class Escalation:
    code: str
    at: datetime
    to_level: str
    priority: str
    team: str


@dataclass(frozen=True)
class OnDuty:
    agent: str
    team: str
    region: str
    level: str
    present_at: tuple[str, ...]  # sites where the agent is signed in (empty: not present)
    status: str | None  # available / busy / away; None when not present


@dataclass(frozen=True)
class Board:
    at: datetime
    open: tuple[OpenCount, ...]
    escalations: tuple[Escalation, ...]  # in the last hour, newest first (at most a page of them)
    on_duty: tuple[OnDuty, ...]
    created_last_15_min: int
    escalations_last_hour: int = 0  # all of them, listed or not
    teams: tuple[str, ...] = field(default=())

    def cells(self) -> dict[tuple[str, str], Counter[str]]:
        """(priority, team) -> SLA state -> open tickets."""
        out: dict[tuple[str, str], Counter[str]] = {}
        for c in self.open:
            out.setdefault((c.priority, c.team), Counter())[c.sla] += c.count
        return out

    def totals(self) -> Counter[str]:
        """SLA state -> open tickets, over everything."""
        total: Counter[str] = Counter()
        for c in self.open:
            total[c.sla] += c.count
        return total

    def by_region(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for c in self.open:
            total[c.region or "-"] += c.count
        return total

    def team_names(self) -> list[str]:
        return sorted({c.team for c in self.open} | set(self.teams))

    def unstaffed_teams(self) -> list[str]:
        """Teams with open tickets and nobody on duty present to take them."""
        staffed = {d.team for d in self.on_duty if d.present_at}
        return sorted({c.team for c in self.open} - staffed)
