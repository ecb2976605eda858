"""A data drill's findings and checks on synthetic evidence: the restore against the canary's
acknowledged intakes, the repair against the tickets the release damaged."""

from __future__ import annotations

from typing import Any

from drills.data_checks import REPAIR, RESTORE, checks, findings, repair_findings, restore_findings
from drills.model import Attempt, CanaryOp, DataRecovery, Observed, Outcome, TicketSeen
from drills.observe import action_outputs
from drills.report import Objectives

OBJECTIVES = Objectives(data_recovery_s=60)


def acked(seq: int, at: float) -> CanaryOp:
    return CanaryOp(
        seq=seq,
        key=f"k{seq}",
        invoked=at,
        outcome=Outcome.OK,
        ticket_code=f"T{seq}",
        acked=at + 0.1,
        attempts=(Attempt(sent=at, done=at + 0.1, ok=True, status=202),),
    )


def observed(keys: list[str], positions: dict[str, tuple[int, int]], action: dict[str, Any] | None) -> Observed:
    return Observed(
        tickets={k: (TicketSeen(code=f"C-{k}", created=0.0),) for k in keys},
        in_kafka=frozenset(positions),
        kafka_positions=positions,
        data_action=action,
    )


def restore_action(**overrides: Any) -> dict[str, Any]:
    return {"at": 50.0, "restore_s": 3.5, "latest_commit": 40.0, "canary_keys": ["k1", "k2"]} | overrides


def test_restore_counts_the_copy_the_replay_and_what_is_lost_for_good() -> None:
    ops = [acked(1, 1.0), acked(2, 2.0), acked(3, 45.0), acked(4, 46.0), acked(5, 47.0), acked(6, 60.0)]
    # k3 and k4 sit at or past partition 0's replay point (offset 10); k5 sits before it on
    # partition 1 (offset 3 < 8): the copy lacks it and a replay from there would not bring it back.
    positions = {"k3": (0, 10), "k4": (0, 11), "k5": (1, 3), "k6": (1, 20)}
    action = restore_action(replay_from={"0": 10, "1": 8})
    data = restore_findings(ops, observed([f"k{i}" for i in range(1, 7)], positions, action), action)
    assert (data.acknowledged, data.in_copy, data.replayable, data.lost) == (5, 2, 2, 1)
    assert data.copy_lag_s == 10.0  # acknowledged after the loss (k6) is not judged


def test_a_missing_intake_gone_from_the_topic_too_is_lost() -> None:
    action = restore_action(canary_keys=[], replay_from={"0": 0})
    data = restore_findings([acked(1, 1.0)], observed(["k1"], {}, action), action)
    assert (data.replayable, data.lost) == (0, 1)


def test_restore_checks_fail_on_a_loss_and_on_a_slow_restore() -> None:
    sound = DataRecovery(kind=RESTORE, at=50.0, restore_s=3.5, acknowledged=5, in_copy=2, replayable=3)
    assert all(c.passed for c in checks(sound, RESTORE, OBJECTIVES))
    lossy = sound.model_copy(update={"replayable": 2, "lost": 1})
    assert [c.passed for c in checks(lossy, RESTORE, OBJECTIVES)] == [True, False]
    slow = sound.model_copy(update={"restore_s": 61.0})
    assert [c.passed for c in checks(slow, RESTORE, OBJECTIVES)] == [False, True]


def test_a_restore_with_nothing_acknowledged_before_it_proves_nothing() -> None:
    empty = DataRecovery(kind=RESTORE, at=50.0, restore_s=3.5)
    assert not checks(empty, RESTORE, OBJECTIVES)[1].passed


def test_repair_counts_the_damaged_the_repaired_and_what_is_left() -> None:
    deployed = {"at": 20.0, "touched": ["A", "B", "C"]}
    repaired = {"restore_s": 4.0, "seconds": 9.0, "repaired": ["A", "B", "X"]}
    seen = Observed(damaged=("C",), data_action={"deployed": deployed, "repaired": repaired})
    data = repair_findings(seen, deployed, repaired)
    assert (data.touched, data.repaired, data.still_damaged, data.repair_s) == (3, 2, 1, 9.0)
    assert [c.passed for c in checks(data, REPAIR, OBJECTIVES)] == [True, False]
    whole = data.model_copy(update={"repaired": 3, "still_damaged": 0})
    assert all(c.passed for c in checks(whole, REPAIR, OBJECTIVES))


def test_a_data_drill_whose_action_never_reported_fails() -> None:
    seen = Observed(data_action={"deployed": {"at": 1.0, "touched": ["A"]}, "repaired": None})
    assert findings(REPAIR, [], seen) is None
    (check,) = checks(None, REPAIR, OBJECTIVES)
    assert not check.passed
    assert checks(None, "", OBJECTIVES) == ()  # not a data drill: no data checks


def test_action_outputs_keeps_what_succeeded_by_function_name() -> None:
    def activity(func: str, status: str, output: Any) -> dict[str, Any]:
        return {"activity": {"provider": {"func": func}}, "status": status, "output": output}

    journal = {
        "run": [activity("deploy_defective_release", "succeeded", {"at": 1.0}), activity("hold_fault", "failed", 0)],
        "rollbacks": [activity("repair_defective_release", "succeeded", {"seconds": 2.0})],
    }
    assert action_outputs(journal) == {
        "deploy_defective_release": {"at": 1.0},
        "repair_defective_release": {"seconds": 2.0},
    }
