"""The drill scheduler against the real lab: two candidates, one leader, each fire recorded once.

A drill that is due inside a blackout is skipped, so this exercises the election, the fencing
epoch and the PostgreSQL record without running a whole drill."""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from drills.scheduler import CALENDAR_POLL_S, ROLE
from infra.topology import Topology
from tests.integration.conftest import CCDR, wait_until
from tests.integration.core.conftest import Front
from tests.integration.failover.conftest import Observer

WAIT_S = 60
POLL_S = CALENDAR_POLL_S  # how often the leader reads the calendar


def _calendar(path: Path, name: str) -> Path:
    now = datetime.now(UTC)
    path.write_text(
        f"""
timezone = "UTC"
max_catch_up_s = 3600
[[drill]]
name = "{name}"
scenario = "site-loss-a"
cron = "* * * * *"
duration_s = 60
[[blackout]]
name = "integration test window"
start = "{(now - timedelta(hours=1)).isoformat()}"
end = "{(now + timedelta(hours=1)).isoformat()}"
"""
    )
    return path


def test_one_candidate_leads_and_a_blacked_out_fire_is_skipped_once(
    lab: Topology, front: Front, tmp_path: Path
) -> None:
    name = f"it-{datetime.now(UTC):%H%M%S%f}"
    calendar = _calendar(tmp_path / "calendar.toml", name)
    procs = [
        subprocess.Popen(
            [*CCDR, "drill", "scheduler", "--candidate", candidate, "--calendar", str(calendar)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for candidate in ("ci-1", "ci-2")
    ]
    try:
        rows = wait_until(
            "the scheduler recorded the blacked-out fire",
            lambda: front.sql(
                "SELECT action, reason, scheduler, fencing_epoch FROM drill_schedule_runs WHERE drill = %s", name
            ),
            WAIT_S,
        )
        observer = Observer(lab)
        try:
            leader = observer.leader(ROLE)
        finally:
            observer.coord.stop()
        # Both candidates keep running through more polls than one: the fire must still have one
        # row, the same one, and every later fire only rows by the leader.
        time.sleep(2 * POLL_S + 2)
        again = front.sql(
            "SELECT due_at, action, reason, scheduler, fencing_epoch FROM drill_schedule_runs WHERE drill = %s"
            " ORDER BY due_at",
            name,
        )
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT)
        logs = [p.communicate(timeout=30)[0] for p in procs]
    assert len(rows) == 1, rows  # one fire, one row, whoever wrote it
    action, reason, scheduler, epoch = rows[0]
    assert action == "skip" and "blackout 'integration test window'" in reason
    assert scheduler in ("ci-1", "ci-2") and epoch > 0
    assert leader is not None and leader.holder == scheduler, (leader, logs)  # the leader wrote it
    first = [r for r in again if r[1:] == rows[0]]
    assert len(first) == 1, again  # still that one row for that fire, unchanged
    assert len({r[0] for r in again}) == len(again)  # no fire twice
    assert {r[3] for r in again} == {scheduler}, (again, logs)  # nobody but the leader recorded
