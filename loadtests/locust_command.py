"""Locust's headless command line, built in one place for `ccdr load run`, drills and `ccdr bench`.

Locust runs on gevent, so it always runs as a subprocess of ours; this module only builds argv. Pure.
"""

from __future__ import annotations

import sys
from pathlib import Path

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
LOCUST = Path(sys.executable).with_name("locust")


def headless(
    host: str,
    csv_prefix: Path,
    *,
    locust: Path = LOCUST,
    users: int | None = None,
    run_time_s: float | None = None,
    smtp: tuple[str, int] | None = None,
    mix: str | None = None,
    rate: float | None = None,
    secrets: Path | None = None,
    run_id: str | None = None,
    tickets_url: str | None = None,
    ca_file: Path | None = None,
) -> list[str]:
    """`locust -f loadtests/locustfile.py --headless` with what is given; a shape class decides users when
    `users` is None, and locust runs until stopped when `run_time_s` is None."""
    command = [str(locust), "-f", str(LOCUSTFILE), "--headless", "--only-summary"]
    if users is not None:
        command += ["-u", str(users), "-r", str(users)]  # all at once: the load is the rate, not the ramp
    if run_time_s is not None:
        command += ["-t", f"{run_time_s:g}s"]
    command += ["--host", host, "--csv", str(csv_prefix)]
    if smtp is not None:
        command += ["--smtp-host", smtp[0], "--smtp-port", str(smtp[1])]
    if mix is not None:
        command += ["--ccdr-mix", mix]
    if rate is not None:
        command += ["--ccdr-rate", f"{rate:g}"]
    if secrets is not None:
        command += ["--ccdr-secrets", str(secrets)]
    if run_id is not None:
        command += ["--ccdr-run-id", run_id]
    if tickets_url is not None:
        command += ["--ccdr-tickets-url", tickets_url]
    if ca_file is not None:
        command += ["--ccdr-ca-file", str(ca_file)]
    return command
