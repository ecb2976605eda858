"""Backups on the real lab: pgBackRest archives every WAL segment to the witness, takes backups
from the primary over TLS, and a restore rebuilds the database as it was at a point in time."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import psycopg

from infra.lab import backup
from infra.lab.database import admin_dsn
from infra.lab.layout import LabLayout
from infra.topology import Topology
from tests.integration.conftest import ccdr
from tests.integration.core.conftest import Front


def _open_ticket(front: Front, subject: str, description: str = "") -> str:
    body = {"contact": {"phone": "+84 24 3000 0000"}, "subject": subject, "description": description}
    r = front.post("portal", body)
    assert r.status_code == 202, r.text
    code = str(r.json()["ticket_code"])
    front.ticket(code)
    return code


def _archive_past_now(front: Front) -> None:
    """A restore to a time needs WAL from after that time (the first commit past the target ends the
    replay): close the primary's segment and wait until it is archived, as `ccdr backup repair` does."""
    backup.archive_now(admin_dsn(front.topo, front.secrets.superuser), front.topo.backup.archive_timeout_s)


def test_a_point_in_time_restore_holds_what_was_committed_before_the_target_and_nothing_after(
    lab: Topology, front: Front
) -> None:
    ccdr("backup", "run", "--type", "incr")
    state = json.loads(ccdr("backup", "status", "--json").stdout)
    assert state["status"]["message"] == "ok", state["status"]
    assert [b["type"] for b in state["backup"]][:1] == ["full"], "lab up takes a first full backup"
    assert state["backup"][-1]["type"] == "incr"

    before = _open_ticket(front, "backup check: committed before the target")
    time.sleep(1.5)
    target = datetime.now(UTC)
    time.sleep(1.5)
    after = _open_ticket(front, "backup check: committed after the target")
    _archive_past_now(front)

    restored = backup.restore(LabLayout(lab), target)
    assert before in restored.codes, "a ticket committed before the target is in the restored copy"
    assert after not in restored.codes, "nothing committed after the target is"
    assert restored.latest_commit is not None and restored.latest_commit <= target
    assert not backup.scratch_dir(LabLayout(lab)).exists(), "the scratch cluster is removed"


def test_a_bad_restore_target_is_refused_in_one_line(lab: Topology) -> None:
    proc = ccdr("backup", "restore", "--to", "2026-12-06 19:30", check=False)
    assert proc.returncode == 2
    assert "has no UTC offset" in proc.stderr


def test_backups_checked_by_a_restore_are_sound_and_say_what_a_restore_would_lose(lab: Topology, front: Front) -> None:
    _open_ticket(front, "backup check: verify")  # a ticket the copy must hold
    _archive_past_now(front)
    verdict = json.loads(ccdr("backup", "verify", "--json").stdout)
    assert verdict["ok"] and verdict["holes"] == 0 and verdict["unknown"] == 0, verdict
    assert verdict["tickets_in_copy"] >= 1 and verdict["lag_s"] is not None
    assert verdict["lag_s"] <= lab.backup.wal_switch_s, "the archive was closed just before: nothing older is lost"
    assert "last restore check" in ccdr("backup", "status").stdout


def test_a_bad_releases_damage_is_repaired_from_a_point_in_time_copy(lab: Topology, front: Front) -> None:
    damaged = _open_ticket(front, "backup check: damaged by a bad release", "The core switch in rack B2 reboots")
    spared = _open_ticket(front, "backup check: not touched by the release")
    original = front.ticket(damaged)
    assert original["description"] and original["contact"]
    time.sleep(1.5)
    deployed = datetime.now(UTC)
    time.sleep(1.5)
    admin = admin_dsn(lab, front.secrets.superuser)
    with psycopg.connect(admin) as conn:
        conn.execute("UPDATE tickets SET contact = '{}', description = '' WHERE code = %s", (damaged,))

    refused = ccdr("backup", "repair", "--to", deployed.isoformat(), "--column", "status", check=False)
    assert refused.returncode == 2 and "cannot repair status" in refused.stderr

    proc = ccdr("backup", "repair", "--to", deployed.isoformat(), "-c", "contact", "-c", "description", "--json")
    report = json.loads(proc.stdout)
    assert report["repaired"] == [damaged], "only the damaged ticket differs from the copy"
    after = front.ticket(damaged)
    assert (after["contact"], after["description"]) == (original["contact"], original["description"])
    repairs = [e for e in front.events(damaged) if e["kind"] == backup.REPAIR_EVENT]
    assert len(repairs) == 1 and repairs[0]["data"]["columns"] == ["contact", "description"]
    assert spared not in report["repaired"]
