"""The real lab, brought up once per test session (needs root)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from infra.lab import secrets as lab_secrets
from infra.lab.layout import LabLayout
from infra.lab.render import Secrets
from infra.topology import Topology, load_topology

CCDR = [str(Path(sys.executable).with_name("ccdr"))]
T = TypeVar("T")

for noisy in ("aiokafka", "kazoo"):
    logging.getLogger(noisy).setLevel(logging.CRITICAL)


def ccdr(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the real CLI, as an operator would."""
    proc = subprocess.run([*CCDR, *args], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"ccdr {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc


def wait_until(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 0.5) -> T:
    """Poll until `probe` returns a truthy value; fail naming `what`."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not reached within {timeout:.0f} s (last: {last!r})")


@pytest.fixture(scope="session")
def topology() -> Topology:
    return load_topology()


@pytest.fixture(scope="session")
def lab(topology: Topology) -> Iterator[Topology]:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root")
    ccdr("lab", "up")
    yield topology
    if not os.environ.get("CCDR_KEEP_LAB"):  # developers iterating keep it up between runs
        ccdr("lab", "down", check=False)


@pytest.fixture(scope="session")
def secrets(lab: Topology) -> Secrets:
    return lab_secrets.load(LabLayout(lab))
