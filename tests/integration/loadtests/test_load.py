"""A short, bounded locust run against the real lab: requests succeed and become tickets, and the
SLO gate fails a run whose limits it breaks.

Asserts outcomes, never speed: the passing run's SLO limits are set far out of reach of a noisy
machine, the failing run's limit (p99 under 1 ms through HTTP, Kafka acks=all and two sites) out
of reach of any machine."""

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


def _run(out: Path, run_id: str, *, duration_s: int, p99_ms: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *CCDR,
            "load",
            "run",
            "--shape",
            "constant",
            "--users",
            str(USERS),
            "--duration",
            str(duration_s),
            "--slo-p99-ms",
            str(p99_ms),
            "--slo-error-ratio",
            "0.5",
            "--out",
            str(out),
        ],
        env={**os.environ, "CCDR_RUN_ID": run_id},
        capture_output=True,
        text=True,
        timeout=duration_s + 120,
    )


def test_a_bounded_locust_run_through_the_front_door_creates_tickets(front: Front, tmp_path: Path) -> None:
    run_id = uuid.uuid4().hex[:10]
    out = tmp_path / "load"
    proc = _run(out, run_id, duration_s=DURATION_S, p99_ms=60_000)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "SLO met" in proc.stdout + proc.stderr, proc.stdout[-3000:]
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


def test_the_slo_gate_fails_a_run_that_breaks_its_limit(front: Front, tmp_path: Path) -> None:
    proc = _run(tmp_path / "load", uuid.uuid4().hex[:10], duration_s=8, p99_ms=1)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "SLO breached: p99" in proc.stdout + proc.stderr, proc.stdout[-3000:]
