"""The report scheduler's work: each complete week and month written once, by a leader only."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from ccdr.report_scheduler import ReportScheduler
from core.tickets.domain.kpi import compute, parse_period
from failover.coordination import Term

VN = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY = datetime(2026, 12, 7, 6, 0, tzinfo=VN)


class FakeRuns:
    def __init__(self, written: set[str]) -> None:
        self.done = set(written)
        self.recorded: list[tuple[str, str, int]] = []

    async def written(self, periods: list[str]) -> set[str]:
        return self.done & set(periods)

    async def record(self, period: str, kind: str, path: Path, term: Term, scheduler: str) -> bool:
        self.recorded.append((period, kind, term.epoch))
        self.done.add(period)
        return True


async def _report(label: str) -> Any:
    return compute([], parse_period(label, VN), MONDAY)


def _leader(may_act: bool = True) -> Any:
    return SimpleNamespace(term=Term("desk-report-scheduler", "ops-hn", 7, 0.0, 1), may_act=lambda: may_act)


def test_the_leader_writes_last_week_and_last_month_once(tmp_path: Path) -> None:
    runs = FakeRuns({"2026-11"})  # the month was written by the previous leader
    work = ReportScheduler("ops-hn", runs, _report, tmp_path, VN, lambda: MONDAY, poll_s=0)
    asyncio.run(work(_leader()))
    assert runs.recorded == [("2026-W49", "week", 7)]
    assert (tmp_path / "desk-2026-W49.pdf").read_bytes().startswith(b"%PDF-")
    assert "Service desk 2026-W49" in (tmp_path / "desk-2026-W49.html").read_text()
    asyncio.run(work(_leader()))
    assert len(runs.recorded) == 1  # recorded: not written again


def test_a_candidate_that_may_not_act_writes_nothing(tmp_path: Path) -> None:
    runs = FakeRuns(set())
    work = ReportScheduler("ops-dn", runs, _report, tmp_path, VN, lambda: MONDAY, poll_s=0)
    asyncio.run(work(_leader(may_act=False)))
    assert runs.recorded == [] and list(tmp_path.iterdir()) == []
