"""Locust load alongside a drill: headless locust in a subprocess (it runs on gevent), stopped when
the drill's canary stops; its totals go into the drill report and its CSVs beside it."""

from __future__ import annotations

import csv
import io
import math
import signal
import subprocess
import tempfile
from pathlib import Path

from drills.report import LoadStats
from infra.lab.layout import LabLayout
from infra.lab.pki import ca_file
from infra.topology import Topology
from loadtests.locust_command import headless

STOP_TIMEOUT_S = 60
OVERALL = "Aggregated"


def parse_stats_csv(text: str, *, users: int, rate_per_s: float) -> LoadStats:
    """Totals and per-name figures from locust's `<prefix>_stats.csv`."""
    rows = list(csv.DictReader(io.StringIO(text)))
    by_name: dict[str, dict[str, float]] = {}
    total: dict[str, str] | None = None
    for row in rows:
        if row["Name"] == OVERALL:
            total = row
            continue
        by_name[row["Name"]] = {
            "requests": float(row["Request Count"]),
            "failures": float(row["Failure Count"]),
            "rps": float(row["Requests/s"]),
            "p50_ms": _number(row["50%"]) or 0.0,
            "p99_ms": _number(row["99%"]) or 0.0,
        }
    if total is None:
        raise ValueError("locust stats CSV has no Aggregated row")
    return LoadStats(
        users=users,
        rate_per_s=rate_per_s,
        requests=int(total["Request Count"]),
        failures=int(total["Failure Count"]),
        p50_ms=_number(total["50%"]),
        p99_ms=_number(total["99%"]),
        by_name=by_name,
    )


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:  # locust writes "N/A" when a name had no successful request
        return None


class LocustLoad:
    """The drill runner's load hook (see drills.runner.LoadHook)."""

    def __init__(self, topo: Topology) -> None:
        self.topo = topo
        self.workdir = Path(tempfile.mkdtemp(prefix="ccdr-drill-load-"))
        self.prefix = self.workdir / "locust"
        self.proc: subprocess.Popen[bytes] | None = None
        self.users = 0
        self.rate = 0.0

    def start(self, rate_per_s: float) -> None:
        # One request/s per user at most: enough users that the mix keeps its shares at low rates.
        self.rate = rate_per_s
        self.users = max(1, math.ceil(rate_per_s))
        fd = self.topo.front_door
        command = headless(
            self.topo.front_door_url("intake"),
            self.prefix,
            users=self.users,
            smtp=(str(fd.address), fd.intake_smtp),
            rate=rate_per_s / self.users,
            secrets=LabLayout(self.topo).secrets_file,
            tickets_url=self.topo.front_door_url("tickets"),
            ca_file=ca_file(self.topo),
        )
        log = (self.workdir / "locust.log").open("wb")
        self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> LoadStats | None:
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)  # locust stops its users and writes the CSVs
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        stats = self.workdir / "locust_stats.csv"
        if not stats.exists():
            log = (self.workdir / "locust.log").read_text(errors="replace")[-500:]
            raise RuntimeError(f"locust wrote no statistics (exit {self.proc.returncode}): {log}")
        return parse_stats_csv(stats.read_text(), users=self.users, rate_per_s=self.rate)

    def artifacts(self) -> dict[str, bytes]:
        files = {}
        for name in ("locust_stats.csv", "locust_failures.csv", "locust.log"):
            path = self.workdir / name
            if path.exists():
                files[name] = path.read_bytes()
        return files
