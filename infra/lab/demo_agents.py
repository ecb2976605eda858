"""The lab's demo agents and a generated two-week duty roster (in-hours and out-of-hours
shifts in Vietnam's time zone), loaded by `ccdr lab up`. Every demo agent's password is the
lab secret `agent_password` (secrets.json in the lab's state dir)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import psycopg

from core.agents.domain.credentials import hash_password
from core.agents.domain.model import Agent, Role
from core.agents.domain.roster import Shift
from core.agents.store import repository as agents_repo
from core.domain.escalation import SupportLevel
from core.domain.routing import Team
from core.domain.taxonomy import Region

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
DAY_START, DAY_END = time(8, 0), time(17, 30)
ROSTER_DAYS = 14  # the seeds' roster is "updated every two weeks"


@dataclass(frozen=True)
class DemoAgent:
    id: str
    name: str
    role: str
    home_site: str
    team: Team | None = None
    region: Region | None = None
    level: SupportLevel | None = None
    out_of_hours: bool = False  # takes the night and weekend shifts of its team/region/level


N, C, S = Region.NORTH, Region.CENTRAL, Region.SOUTH
L1, L2 = SupportLevel.L1, SupportLevel.L2
DEMO_AGENTS = (
    DemoAgent("an.nguyen", "Nguyễn Văn An", "agent-L1", "a", Team.NETWORK, N, L1),
    DemoAgent("binh.tran", "Trần Thị Bình", "agent-L1", "b", Team.NETWORK, N, L1, out_of_hours=True),
    DemoAgent("chi.le", "Lê Minh Chi", "agent-L2", "a", Team.NETWORK, N, L2, out_of_hours=True),
    DemoAgent("dung.pham", "Phạm Quốc Dũng", "agent-L1", "b", Team.SERVER, S, L1, out_of_hours=True),
    DemoAgent("giang.vo", "Võ Thu Giang", "agent-L2", "b", Team.SERVER, S, L2, out_of_hours=True),
    DemoAgent("hai.do", "Đỗ Thanh Hải", "agent-L1", "a", Team.CAMERA, C, L1, out_of_hours=True),
    DemoAgent("khanh.bui", "Bùi Gia Khánh", "agent-L1", "a", Team.SERVICE_DESK, N, L1, out_of_hours=True),
    DemoAgent("linh.dang", "Đặng Mỹ Linh", "agent-L1", "b", Team.SERVICE_DESK, S, L1, out_of_hours=True),
    DemoAgent("minh.hoang", "Hoàng Đức Minh", "agent-L3", "a"),
    DemoAgent("hoa.ngo", "Ngô Thị Hoa", "supervisor", "a"),
    DemoAgent("khoa.ly", "Lý Đăng Khoa", "sre", "b"),
    DemoAgent("lan.mai", "Mai Ngọc Lan", "auditor", "a"),
)


def roster(start: date, days: int = ROSTER_DAYS) -> list[Shift]:
    """In-hours (weekdays 08:00-17:30) to the first agent of each team/region/level, the rest of
    the clock (nights, weekends) to the one marked out_of_hours, or the same one if alone."""
    groups: dict[tuple[Team, Region, SupportLevel], list[DemoAgent]] = {}
    for a in DEMO_AGENTS:
        if a.team and a.region and a.level:
            groups.setdefault((a.team, a.region, a.level), []).append(a)
    shifts: list[Shift] = []
    for (team, region, level), members in sorted(groups.items()):
        day_agent = next((a for a in members if not a.out_of_hours), members[0])
        night_agent = next((a for a in members if a.out_of_hours), members[0])
        for n in range(days):
            d = start + timedelta(days=n)
            midnight = datetime.combine(d, time(0), VIETNAM)
            parts = [(midnight, midnight + timedelta(days=1), night_agent, "out_of_hours")]
            if d.weekday() < 5:
                open_, close = datetime.combine(d, DAY_START, VIETNAM), datetime.combine(d, DAY_END, VIETNAM)
                parts = [
                    (midnight, open_, night_agent, "out_of_hours"),
                    (open_, close, day_agent, "in_hours"),
                    (close, midnight + timedelta(days=1), night_agent, "out_of_hours"),
                ]
            shifts += [
                Shift(agent_id=a.id, team=team, region=region, level=level, kind=kind, starts_at=b, ends_at=e)
                for b, e, a, kind in parts
            ]
    return shifts


def seed(conn: psycopg.Connection, password: str, today: date) -> tuple[int, int]:
    """Create missing demo agents, and the roster from yesterday for two weeks if none covers now."""
    hashed = hash_password(password)
    added = 0
    for a in DEMO_AGENTS:
        agent = Agent(
            id=a.id,
            name=a.name,
            email=f"{a.id}@ccdr.lab",
            role=Role(a.role),
            teams=(a.team.value,) if a.team else (),
            regions=(a.region.value,) if a.region else (),
            home_site=a.home_site,
        )
        added += conn.execute(agents_repo.INSERT_AGENT, agents_repo.agent_row(agent, hashed)).rowcount
    covered = conn.execute("SELECT count(*) FROM duty_shifts WHERE ends_at > now() + interval '1 day'").fetchone()
    if covered and covered[0]:
        return added, 0
    shifts = roster(today - timedelta(days=1))
    with conn.cursor() as cur:
        cur.executemany(agents_repo.INSERT_SHIFT, [agents_repo.shift_row(s, "lab demo roster") for s in shifts])
    return added, len(shifts)
