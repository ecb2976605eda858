"""Reading the drill's marks out of a Chaos Toolkit journal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from drills.judge import abort_reason as _abort_reason
from drills.judge import steady_before as _steady_before
from drills.measure import timeline_from_journal


def _at(second: int) -> str:
    return datetime(2026, 11, 23, 15, 0, second, tzinfo=UTC).isoformat()


def _posix(second: int) -> float:
    return datetime(2026, 11, 23, 15, 0, second, tzinfo=UTC).timestamp()


JOURNAL: dict[str, Any] = {
    "status": "completed",
    "deviated": False,
    "steady_states": {"before": {"steady_state_met": True, "probes": []}},
    "run": [
        {"activity": {"name": "kill-site-a"}, "status": "succeeded", "start": _at(10), "end": _at(11)},
        {"activity": {"name": "hold"}, "status": "succeeded", "start": _at(11), "end": _at(41)},
    ],
    "rollbacks": [
        {"activity": {"name": "restore-site-a"}, "status": "succeeded", "start": _at(42), "end": _at(50)},
        {"activity": {"name": "wait-converged"}, "status": "succeeded", "start": _at(50), "end": _at(55)},
    ],
}


def test_fault_restore_and_convergence_come_from_the_journal() -> None:
    t = timeline_from_journal(JOURNAL, _posix(0), _posix(59))
    assert (t.started, t.fault_at, t.restore_at, t.converged_at, t.ended) == (
        _posix(0),
        _posix(10),
        _posix(42),
        _posix(55),
        _posix(59),
    )


def test_naive_journal_times_are_utc() -> None:
    journal = {**JOURNAL, "run": [{**JOURNAL["run"][0], "start": "2026-11-23T15:00:10"}]}
    assert timeline_from_journal(journal, _posix(0), _posix(59)).fault_at == _posix(10)


def test_a_failed_rollback_means_no_convergence() -> None:
    rollbacks = [JOURNAL["rollbacks"][0], {**JOURNAL["rollbacks"][1], "status": "failed"}]
    t = timeline_from_journal({**JOURNAL, "rollbacks": rollbacks}, _posix(0), _posix(59))
    assert t.restore_at == _posix(42) and t.converged_at is None


def test_no_method_run_puts_the_fault_at_the_end() -> None:
    t = timeline_from_journal({**JOURNAL, "run": [], "rollbacks": []}, _posix(0), _posix(59))
    assert t.fault_at == _posix(59) and t.restore_at is None


def test_a_steady_state_that_failed_before_names_the_probe() -> None:
    journal = {
        **JOURNAL,
        "run": [],
        "steady_states": {
            "before": {
                "steady_state_met": False,
                "probes": [
                    {"activity": {"name": "intake-acknowledges"}, "tolerance_met": False},
                    {"activity": {"name": "agent-can-log-in"}, "tolerance_met": True},
                ],
            }
        },
    }
    assert not _steady_before(journal)
    reason = _abort_reason(journal)
    assert reason is not None and "intake-acknowledges" in reason and "agent-can-log-in" not in reason


def test_an_interrupted_run_reports_the_activity_that_failed() -> None:
    run = [{**JOURNAL["run"][0]}, {**JOURNAL["run"][1], "status": "failed", "exception": ["guardrail: no intake"]}]
    assert _abort_reason({**JOURNAL, "status": "interrupted", "run": run}) == "guardrail: no intake"
    assert _abort_reason(JOURNAL) is None


def test_a_failed_rollback_is_a_note() -> None:
    from drills.judge import status_notes as _status_notes

    rollbacks = [JOURNAL["rollbacks"][0], {**JOURNAL["rollbacks"][1], "status": "failed"}]
    notes = _status_notes({**JOURNAL, "rollbacks": rollbacks})
    assert any("wait-converged" in n and "did not converge" in n for n in notes)
    assert _status_notes(JOURNAL) == ()
