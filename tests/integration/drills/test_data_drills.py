"""The data-disaster drills against the real lab: the database rebuilt from the backups and
checked against the canary's acknowledged intakes, and a bad release's damage repaired from a
point-in-time copy. Asserts the findings, not timings."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from drills.chaos.probes import converged
from drills.observe import damaged_canary_tickets
from infra.lab.database import app_dsn
from infra.topology import Topology
from tests.integration.conftest import ccdr, wait_until
from tests.integration.core.conftest import Front

CONVERGE_S = 300
DRILL_TIMEOUT_S = 900


def run_drill(lab: Topology, scenario: str, duration_s: int) -> dict[str, Any]:
    wait_until("the lab converged before the drill", lambda: converged(lab)[0] or None, CONVERGE_S, interval=2)
    args = ("drill", "run", scenario, "--duration", str(duration_s), "--operator", "ci", "--trigger", "ci")
    proc = ccdr(*args, timeout=DRILL_TIMEOUT_S, check=False)
    assert proc.returncode in (0, 3), proc.stderr[-4000:]  # 3: an objective missed, still a complete drill
    match = re.search(r"report:\s*(\S+report\.html)", proc.stdout)
    assert match, proc.stdout
    return dict(json.loads((Path(match.group(1)).parent / "report.json").read_text()))


@pytest.fixture(scope="module")
def restore_report(lab: Topology) -> dict[str, Any]:
    return run_drill(lab, "restore-database", 20)


@pytest.fixture(scope="module")
def repair_report(lab: Topology) -> dict[str, Any]:
    return run_drill(lab, "bad-deployment", 10)


def _check(report: dict[str, Any], prefix: str) -> dict[str, Any]:
    return next(c for c in report["checks"] if c["name"].startswith(prefix))


def test_a_restored_database_loses_no_acknowledged_intake_for_good(restore_report: dict[str, Any]) -> None:
    data = restore_report["findings"]["data"]
    assert data["kind"] == "restore" and data["acknowledged"] > 0, data
    assert data["lost"] == 0, data
    assert data["in_copy"] + data["replayable"] == data["acknowledged"]
    assert _check(restore_report, "restore: nothing acknowledged lost")["passed"]
    assert restore_report["findings"]["rpo"]["lost"] == 0, "the production cluster was not touched"


def test_a_bad_releases_damage_is_put_back_and_none_is_left(
    repair_report: dict[str, Any], lab: Topology, front: Front
) -> None:
    data = repair_report["findings"]["data"]
    assert data["kind"] == "repair" and data["touched"] > 0, data
    assert data["repaired"] == data["touched"] and data["still_damaged"] == 0, data
    assert _check(repair_report, "repair: every damaged ticket")["passed"]
    drill_id = repair_report["id"]
    assert damaged_canary_tickets(app_dsn(lab, front.secrets.app), drill_id) == ()
