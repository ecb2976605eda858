"""How a drill's figures moved since the previous run of the same scenario: each headline figure
then and now, and which moved for the worse by more than the machine's noise. Pure."""

from __future__ import annotations

from collections.abc import Callable

from drills.model import Findings, Frozen

# Worse by more than this is a regression; less is noise on a shared two-core machine (drills of
# one scenario read 2.0-2.4 s intake recovery, 21.7-24.3 s ticket creation within one session).
SECONDS_SLACK_S = 1.0
SECONDS_SLACK_SHARE = 0.25
AVAILABILITY_SLACK = 0.01  # one percentage point


class Delta(Frozen):
    figure: str
    previous: float | None
    now: float | None
    unit: str  # "s", "%", "" (a count)
    regressed: bool


class Comparison(Frozen):
    previous_id: str
    previous_verdict: str
    deltas: tuple[Delta, ...]

    @property
    def regressions(self) -> tuple[Delta, ...]:
        return tuple(d for d in self.deltas if d.regressed)


def _rto(capability: str, full: bool) -> Callable[[Findings], float | None]:
    def read(f: Findings) -> float | None:
        found = next((r for r in f.rto if r.capability == capability), None)
        if found is None or not found.disrupted:
            return 0.0 if found is not None else None
        return found.full_recovery_s if full and found.full_recovery_s is not None else found.seconds

    return read


# (figure, unit, how to read it, lower is better)
FIGURES: tuple[tuple[str, str, Callable[[Findings], float | None], bool], ...] = (
    ("acknowledged intakes lost", "", lambda f: float(f.rpo.lost), True),
    ("duplicate tickets", "", lambda f: float(f.rpo.duplicates), True),
    ("intake full recovery", "s", _rto("intake", full=True), True),
    ("ticket creation full recovery", "s", _rto("ticket_creation", full=True), True),
    ("agent login recovery", "s", _rto("agent_login", full=False), True),
    ("database primary recovery", "s", _rto("database_primary", full=False), True),
    ("availability", "%", lambda f: f.availability.ratio * 100, False),
)


def _worse(previous: float | None, now: float | None, unit: str, lower_is_better: bool) -> bool:
    if previous is None:
        return False
    if now is None:  # it recovered then and does not now
        return True
    if not lower_is_better:
        return now < previous - AVAILABILITY_SLACK * 100
    if unit == "":
        return now > previous  # any lost intake or duplicate more is a regression
    return now > previous + max(SECONDS_SLACK_S, SECONDS_SLACK_SHARE * previous)


def compare(previous_id: str, previous_verdict: str, previous: Findings, now: Findings) -> Comparison:
    deltas = []
    for figure, unit, read, lower_is_better in FIGURES:
        before, after = read(previous), read(now)
        deltas.append(
            Delta(
                figure=figure,
                previous=before,
                now=after,
                unit=unit,
                regressed=_worse(before, after, unit, lower_is_better),
            )
        )
    return Comparison(previous_id=previous_id, previous_verdict=previous_verdict, deltas=tuple(deltas))


def notes(comparison: Comparison) -> tuple[str, ...]:
    """The comparison in words, for the report's notes."""
    worse = comparison.regressions
    if not worse:
        return (f"No regression against the previous run of this scenario ({comparison.previous_id}).",)
    listed = "; ".join(f"{d.figure} {_show(d.previous, d.unit)} → {_show(d.now, d.unit)}" for d in worse)
    return (f"Regressed since the previous run ({comparison.previous_id}): {listed}.",)


def _show(value: float | None, unit: str) -> str:
    if value is None:
        return "not recovered"
    if unit == "":
        return f"{value:.0f}"
    return f"{value:.1f} {unit}" if unit == "s" else f"{value:.1f} %"


__all__ = ["Comparison", "Delta", "compare", "notes"]
