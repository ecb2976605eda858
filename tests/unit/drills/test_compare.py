"""A report against the previous run of its scenario: what moved for the worse beyond the noise is
flagged, what moved within it or for the better is not."""

from __future__ import annotations

import pytest

from drills import compare
from drills.model import Findings, Rto
from tests.unit.drills.factories import make_findings


def _findings(intake_full_s: float | None, lost: int = 0, ratio: float = 1.0) -> Findings:
    seconds = None if intake_full_s is None else 1.0  # None: intake never came back
    rto = Rto(capability="intake", disrupted=True, seconds=seconds, full_recovery_s=intake_full_s)
    base = make_findings()
    return base.model_copy(
        update={
            "rto": (rto,),
            "rpo": base.rpo.model_copy(update={"lost": lost}),
            "availability": base.availability.model_copy(update={"ratio": ratio}),
        }
    )


def _delta(c: compare.Comparison, figure: str) -> compare.Delta:
    return next(d for d in c.deltas if d.figure == figure)


@pytest.mark.parametrize(
    ("before", "after", "regressed"),
    [
        (2.0, 2.9, False),  # within a second: noise
        (2.0, 3.5, True),
        (20.0, 24.0, False),  # within a quarter
        (20.0, 26.0, True),
        (4.1, 2.4, False),  # better
        (2.0, None, True),  # recovered then, not now
    ],
)
def test_recovery_time_regresses_only_beyond_the_noise(before: float, after: float | None, regressed: bool) -> None:
    c = compare.compare("r1", "pass", _findings(before), _findings(after))
    assert _delta(c, "intake full recovery").regressed is regressed
    assert (c.regressions != ()) is regressed


def test_one_more_lost_intake_is_a_regression_and_is_said_in_words() -> None:
    c = compare.compare("r1", "pass", _findings(2.0), _findings(2.0, lost=1))
    assert [d.figure for d in c.regressions] == ["acknowledged intakes lost"]
    (note,) = compare.notes(c)
    assert "Regressed since the previous run (r1)" in note and "acknowledged intakes lost 0 → 1" in note


def test_availability_regresses_when_it_drops_more_than_a_point() -> None:
    assert not compare.compare("r1", "pass", _findings(2.0, ratio=1.0), _findings(2.0, ratio=0.995)).regressions
    c = compare.compare("r1", "pass", _findings(2.0, ratio=1.0), _findings(2.0, ratio=0.95))
    assert [d.figure for d in c.regressions] == ["availability"]


def test_no_regression_is_said_too() -> None:
    (note,) = compare.notes(compare.compare("r1", "fail", _findings(3.0), _findings(2.0)))
    assert note == "No regression against the previous run of this scenario (r1)."
