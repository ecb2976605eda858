"""`ccdr drill history --chart`: per scenario, one line per run (oldest first) with bars for intake
and ticket-creation recovery, acknowledged intakes lost and the verdict, so a trend shows at a
glance in a terminal. Pure: reports in, lines of text out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from drills.compare import FIGURES
from drills.report import DrillReport

BAR = "█"
WIDTH = 16  # characters of the longest bar (a line fits 80 columns)
_READ = {figure: read for figure, _, read, _ in FIGURES}


@dataclass(frozen=True)
class Run:
    seq: int
    report_id: str
    verdict: str
    intake_s: float | None  # full recovery; None: not recovered
    tickets_s: float | None
    lost: int
    regressed: tuple[str, ...]  # figures flagged against the previous run


def run_of(seq: int, report: DrillReport) -> Run:
    f = report.findings
    regressed = tuple(d.figure for d in report.comparison.regressions) if report.comparison else ()
    return Run(
        seq=seq,
        report_id=report.id,
        verdict=report.verdict,
        intake_s=_READ["intake full recovery"](f),
        tickets_s=_READ["ticket creation full recovery"](f),
        lost=f.rpo.lost,
        regressed=regressed,
    )


def _bar(value: float | None, scale: float) -> str:
    if value is None:
        return "not recovered".ljust(WIDTH)
    return (BAR * max(1 if value > 0 else 0, round(value / scale * WIDTH))).ljust(WIDTH)


def _seconds(value: float | None) -> str:
    return "   -  " if value is None else f"{value:5.1f}s"


def chart(runs_by_scenario: Mapping[str, Sequence[Run]]) -> list[str]:
    """One block per scenario; bars of one scenario share a scale (its longest recovery)."""
    lines: list[str] = []
    for scenario, runs in sorted(runs_by_scenario.items()):
        longest = max((v for r in runs for v in (r.intake_s, r.tickets_s) if v is not None), default=0.0)
        scale = longest or 1.0
        lines.append(f"{scenario}  ({len(runs)} runs; bars to {scale:.1f} s)")
        lines.append(f"  {'seq':>4}  {'intake recovery':<{WIDTH + 7}}  {'ticket creation':<{WIDTH + 7}}  lost  verdict")
        for r in sorted(runs, key=lambda r: r.seq):
            flag = f"  ▲ {', '.join(r.regressed)}" if r.regressed else ""
            lines.append(
                f"  {r.seq:>4}  {_bar(r.intake_s, scale)} {_seconds(r.intake_s)}  "
                f"{_bar(r.tickets_s, scale)} {_seconds(r.tickets_s)}  {r.lost:>4}  {r.verdict.upper()}{flag}"
            )
        lines.append("")
    return lines


def group(runs: Iterable[tuple[str, Run]]) -> dict[str, list[Run]]:
    out: dict[str, list[Run]] = {}
    for scenario, run in runs:
        out.setdefault(scenario, []).append(run)
    return out


__all__ = ["Run", "chart", "group", "run_of"]
