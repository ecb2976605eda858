"""What `ccdr load run` prints: a progress line while locust runs, and a one-screen summary after. Pure.

The summary reads locust's `--csv-full-history` stats history through `loadtests.knee`: one row per
load level (users, req/s, worst p99 window, error ratio, SLO met?), the capacity per channel (the
last level meeting the SLO before the first that breaks it) and the SLO gate's own verdict on the
whole run, which is what locust's exit status reflects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from loadtests import knee
from loadtests.knee import OVERALL, Capacity, HistoryRow, StepStats
from loadtests.slo import SloLimits, slo_verdict

PREFIX = "locust"  # locust --csv <out>/locust
HISTORY_CSV = f"{PREFIX}_stats_history.csv"
REPORT_HTML = "report.html"
LOCUST_LOG = "locust.log"
MAX_STEP_ROWS = 20  # one screen; every level is in the history CSV


class ResultsError(ValueError):
    """Locust's results cannot be read."""


def clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_line(elapsed_s: float, planned_s: float, row: HistoryRow | None) -> str:
    """`1:05 / 10:00  users 20  rps 19.6  fail/s 0.0  p99 140 ms  requests …` from the latest Aggregated row."""
    head = f"{clock(elapsed_s)} / {clock(planned_s)}"
    if row is None:
        return f"{head}  starting locust"
    p99 = "-" if row.p99_ms is None else f"{row.p99_ms:.0f} ms"
    return (
        f"{head}  users {row.users}  rps {row.rps:.1f}  fail/s {row.fails_per_s:.1f}  p99 {p99}  "
        f"requests {row.total_requests} ({row.total_failures} failed)"
    )


@dataclass(frozen=True)
class Outcome:
    """What a finished run measured."""

    title: str  # "step load on the front door (http://…, SMTP …)"
    limits: SloLimits
    out: Path
    steps: list[StepStats]
    capacities: dict[str, Capacity]
    total: HistoryRow | None  # the last Aggregated row: the whole run's counters
    gate: str | None  # the SLO gate's verdict line from locust's log
    locust_exit: int


def exit_status(locust_exit: int) -> int:
    """0 when locust ran and the SLO gate passed; 1 for a breach or any locust failure."""
    return 0 if locust_exit == 0 else 1


def gate_line(log_text: str) -> str | None:
    """The last verdict the SLO gate logged ("SLO met: …" or "SLO breached: …")."""
    for line in reversed(log_text.splitlines()):
        for marker in ("SLO met:", "SLO breached:"):
            at = line.find(marker)
            if at >= 0:
                return line[at:].strip()
    return None


def outcome_of(
    history_text: str,
    log_text: str,
    locust_exit: int,
    *,
    title: str,
    limits: SloLimits,
    out: Path,
    windows: tuple[float, float] = (10.0, 20.0),
) -> Outcome:
    """Levels, capacities and totals from the stats history; `windows` is knee's (settle_s, min_step_s)."""
    try:
        rows = knee.parse_stats_history(history_text)
    except ValueError as exc:
        raise ResultsError(f"{out / HISTORY_CSV}: {exc}") from None
    steps = knee.steps_from_history(rows, *windows)
    totals = [r for r in rows if r.name == OVERALL]
    return Outcome(
        title=title,
        limits=limits,
        out=out,
        steps=steps,
        capacities=knee.find_capacity(steps, limits),
        total=totals[-1] if totals else None,
        gate=gate_line(log_text),
        locust_exit=locust_exit,
    )


def _pick_rows(steps: list[StepStats], keep: set[int]) -> list[StepStats]:
    """At most MAX_STEP_ROWS levels: those in `keep`, the first and the last, and evenly spaced others."""
    if len(steps) <= MAX_STEP_ROWS:
        return steps
    wanted = keep | {steps[0].step, steps[-1].step}
    rest = [s for s in steps if s.step not in wanted]
    room = max(MAX_STEP_ROWS - len(wanted), 0)
    wanted |= {rest[i * len(rest) // room].step for i in range(room)}
    return [s for s in steps if s.step in wanted]


def _breach(capacity: Capacity) -> str:
    return capacity.reason.removeprefix("SLO breached: ")


def _steps_table(outcome: Outcome) -> RenderableType:
    overall = [s for s in outcome.steps if s.name == OVERALL]
    if not overall:
        return Text(f"no load level lasted long enough to judge (the raw curve is in {REPORT_HTML})")
    cap = outcome.capacities.get(OVERALL)
    cap_step = cap.capacity.step if cap and cap.capacity else None
    knee_step = cap.knee.step if cap and cap.knee else None
    shown = _pick_rows(overall, {s for s in (cap_step, knee_step) if s is not None})
    table = Table("step", "users", "held s", "req/s", "p99 ms", "errors", "SLO", box=box.SIMPLE_HEAD)
    for column in table.columns[:6]:
        column.justify = "right"
    if len(shown) < len(overall):
        table.caption = f"{len(shown)} of {len(overall)} levels shown; all are in {HISTORY_CSV}"
    for s in shown:
        met, _ = slo_verdict(s.p99_ms, s.error_ratio, outcome.limits)
        verdict = "[green]met[/green]" if met else "[red]BREACH[/red]"
        if s.step == cap_step:
            verdict += " ← capacity"
        elif s.step == knee_step and cap is not None:
            verdict += f" ← knee: {_breach(cap)}"
        row = (str(s.step), str(s.users), f"{s.duration_s:.0f}", f"{s.rps:.1f}", f"{s.p99_ms:.0f}")
        table.add_row(*row, f"{s.error_ratio:.2%}", verdict)
    return table


def _capacity_table(outcome: Outcome) -> RenderableType:
    table = Table(
        "channel", "capacity (last step meeting the SLO)", "knee (first step breaking it)", box=box.SIMPLE_HEAD
    )
    for name in sorted(outcome.capacities, key=lambda n: (n != OVERALL, n)):
        c = outcome.capacities[name]
        held = (
            f"{c.capacity.users} users, {c.capacity.rps:.1f} req/s" if c.capacity else "none: the first step breached"
        )
        where = f"{c.knee.users} users: {_breach(c)}" if c.knee else "not reached by the last step"
        table.add_row("all channels" if name == OVERALL else name, held, where)
    return table


def summary(outcome: Outcome) -> list[RenderableType]:
    """The one-screen summary: headline, per-level table, capacity per channel, the gate's verdict."""
    limits, total = outcome.limits, outcome.total
    slo = f"SLO p99 ≤ {limits.p99_ms:g} ms, errors ≤ {limits.error_ratio:.2%}"
    counted = f"{total.total_requests} requests, {total.total_failures} failed" if total else "no statistics"
    parts: list[RenderableType] = [Text(outcome.title), Text(f"{counted}; {slo}"), _steps_table(outcome)]
    if outcome.capacities:
        parts.append(_capacity_table(outcome))
    if outcome.gate:
        colour = "green" if outcome.gate.startswith("SLO met") else "red"
        gate = Text(outcome.gate, style=colour)
    else:
        gate = Text(f"no verdict: locust exited {outcome.locust_exit} (see {LOCUST_LOG})", style="red")
    parts.append(Text.assemble("SLO gate, whole run: ", gate, f" → exit {exit_status(outcome.locust_exit)}"))
    parts.append(Text(f"results: {outcome.out}/ ({REPORT_HTML}, {PREFIX}_stats*.csv, {LOCUST_LOG})"))
    return parts
