"""A data drill's findings (pure): what its restore or repair action reported, checked against the
canary's acknowledged intakes and what the cluster and Kafka hold.

- restore-database: the database is lost at `at` and rebuilt from the repository to the end of
  the archive. Every canary intake acknowledged before `at` whose ticket the cluster holds must be
  in the copy, or still in the intake topic at or past the copy's replay point (the first offset of
  its partition the copy has not applied): replaying the topic from there brings it back, and the
  intake ledger makes re-application harmless. Anything else is lost for good.
- bad-deployment: a release damaged the canary's tickets at `at`; the repair restored a copy as of
  `at` and wrote the damaged columns back. Every damaged ticket must be repaired, and no canary
  ticket may differ from what the canary sent once the drill is over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from drills.model import CanaryOp, DataRecovery, Observed, Outcome
from drills.report import Check, Objectives

RESTORE, REPAIR = "restore", "repair"
# The Chaos Toolkit actions whose reports are the evidence (drills.chaos.actions)
RESTORE_ACTION, DEPLOY_ACTION, REPAIR_ACTION = "lose_database", "deploy_defective_release", "repair_defective_release"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def restore_findings(ops: Sequence[CanaryOp], observed: Observed, action: Mapping[str, Any]) -> DataRecovery:
    at = float(action["at"])
    in_copy = set(action.get("canary_keys", ()))
    replay_from = {int(p): int(o) for p, o in dict(action.get("replay_from", {})).items()}
    acked = [
        op.key
        for op in ops
        if op.outcome is Outcome.OK and op.acked is not None and op.acked < at and op.key in observed.tickets
    ]
    missing = [k for k in acked if k not in in_copy]
    positions = observed.kafka_positions
    replayable = [k for k in missing if k in positions and positions[k][1] >= replay_from.get(positions[k][0], 0)]
    latest = _number(action.get("latest_commit"))
    return DataRecovery(
        kind=RESTORE,
        at=at,
        restore_s=float(action["restore_s"]),
        acknowledged=len(acked),
        in_copy=len(acked) - len(missing),
        replayable=len(replayable),
        lost=len(missing) - len(replayable),
        copy_lag_s=None if latest is None else max(0.0, at - latest),
    )


def repair_findings(observed: Observed, deployed: Mapping[str, Any], repaired: Mapping[str, Any]) -> DataRecovery:
    touched = set(deployed.get("touched", ()))
    put_back = set(repaired.get("repaired", ()))
    return DataRecovery(
        kind=REPAIR,
        at=float(deployed["at"]),
        restore_s=float(repaired["restore_s"]),
        touched=len(touched),
        repaired=len(touched & put_back),
        still_damaged=len(observed.damaged),
        repair_s=_number(repaired.get("seconds")),
    )


def findings(kind: str, ops: Sequence[CanaryOp], observed: Observed) -> DataRecovery | None:
    """None when the drill is no data drill or its action never reported (it failed: the
    experiment's status says so)."""
    action = observed.data_action
    if not action:
        return None
    if kind == RESTORE:
        return restore_findings(ops, observed, action)
    if kind == REPAIR and "deployed" in action and "repaired" in action:
        deployed, repaired = action["deployed"], action["repaired"]
        if isinstance(deployed, Mapping) and isinstance(repaired, Mapping):
            return repair_findings(observed, deployed, repaired)
    return None


def checks(data: DataRecovery | None, kind: str, objectives: Objectives) -> tuple[Check, ...]:
    """A data drill's objectives; a data drill whose action never reported fails them all."""
    if not kind:
        return ()
    limit = objectives.data_recovery_s
    if data is None:
        return (Check(name=f"data {kind}", target="the action reports", achieved="no report", passed=False),)
    if data.kind == RESTORE:
        return (
            _within("restore time", data.restore_s, limit),
            Check(
                name="restore: nothing acknowledged lost for good",
                target="0 lost (in the copy, or replayable from the intake topic)",
                achieved=f"{data.lost} lost of {data.acknowledged}: {data.in_copy} in the copy, "
                f"{data.replayable} replayable",
                passed=data.lost == 0 and data.acknowledged > 0,
            ),
        )
    return (
        _within("repair time", data.repair_s, limit),
        Check(
            name="repair: every damaged ticket put back",
            target="all damaged tickets repaired, none left damaged",
            achieved=f"{data.repaired} of {data.touched} repaired, {data.still_damaged} still damaged",
            passed=data.touched > 0 and data.repaired == data.touched and data.still_damaged == 0,
        ),
    )


def _within(name: str, seconds: float | None, limit: float | None) -> Check:
    achieved = "not measured" if seconds is None else f"{seconds:.1f} s"
    if limit is None:
        return Check(name=name, target="measured", achieved=achieved, passed=seconds is not None)
    return Check(name=name, target=f"≤ {limit:g} s", achieved=achieved, passed=seconds is not None and seconds <= limit)
