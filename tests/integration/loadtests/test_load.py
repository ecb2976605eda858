"""A short, bounded locust run against the real lab: requests succeed and become tickets.

Asserts outcomes, never speed: the SLO limits are set far out of reach of a noisy machine."""

from __future__ import annotations

import csv
import os
import subprocess
import uuid
from pathlib import Path

from tests.integration.conftest import CCDR, wait_until
from tests.integration.core.conftest import Front

USERS = 6
DURATION_S = 20
TICKETS_WAIT_S = 120


def test_a_bounded_locust_run_through_the_front_door_creates_tickets(front: Front, tmp_path: Path) -> None:
    run_id = uuid.uuid4().hex[:10]
    out = tmp_path / "load"
    proc = subprocess.run(
        [
            *CCDR,
            "load",
            "run",
            "--shape",
            "constant",
            "--users",
            str(USERS),
            "--duration",
            str(DURATION_S),
            "--slo-p99-ms",
            "60000",
            "--slo-error-ratio",
            "0.5",
            "--out",
            str(out),
        ],
        env={**os.environ, "CCDR_RUN_ID": run_id},
        capture_output=True,
        text=True,
        timeout=DURATION_S + 120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "capacity" in proc.stdout
    with (out / "locust_stats.csv").open() as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    total = rows["Aggregated"]
    assert int(total["Request Count"]) > 0
    assert int(total["Failure Count"]) == 0, (out / "locust_failures.csv").read_text()
    channels = {name for name in rows if name != "Aggregated"}
    assert channels, rows

    def tickets() -> int | None:
        (count,) = front.sql("SELECT count(*) FROM tickets WHERE description LIKE %s", f"%lt{run_id}u%")[0]
        return count or None

    created = wait_until("tickets of the load run", tickets, TICKETS_WAIT_S)
    assert created > 0
