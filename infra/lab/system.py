"""Thin wrappers over the host: running commands, root and binary checks, free ports."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path

from infra.lab.errors import CommandFailed, MissingBinary, NotRoot, PortTaken

INSTALL_STEP = "infra/install/install.sh"

# Every external binary the lab runs, and the install step that provides it.
REQUIRED_BINARIES: dict[str, str] = {
    "ip": f"{INSTALL_STEP} (apt: iproute2)",
    "nft": f"{INSTALL_STEP} (apt: nftables)",
    "haproxy": f"{INSTALL_STEP} (apt: haproxy)",
    "java": f"{INSTALL_STEP} (apt: openjdk-17-jre-headless)",
    "/usr/share/java/zookeeper.jar": f"{INSTALL_STEP} (apt: zookeeper)",
    "/usr/lib/postgresql/15/bin/postgres": f"{INSTALL_STEP} (apt: postgresql-15)",
    "/usr/bin/pgbackrest": f"{INSTALL_STEP} (apt: pgbackrest)",
}


def require_root() -> None:
    if os.geteuid() != 0:
        raise NotRoot()


def require_binaries(extra: dict[str, str] | None = None) -> None:
    for what, step in {**REQUIRED_BINARIES, **(extra or {})}.items():
        found = Path(what).exists() if what.startswith("/") else shutil.which(what) is not None
        if not found:
            raise MissingBinary(what, step)


def run(command: list[str], *, check: bool = True, timeout: float = 60, input: str | None = None) -> str:
    """Run a command, return stdout; raise CommandFailed with its last stderr line."""
    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, input=input)
    if check and proc.returncode != 0:
        raise CommandFailed(command, proc.returncode, proc.stderr or proc.stdout)
    return proc.stdout


def require_port_free(address: str, port: int, purpose: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError:
            raise PortTaken(address, port, purpose) from None


def signal_pids(pids: list[int], sig: signal.Signals) -> None:
    """Send `sig` to each pid; a process that is already gone is not an error."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
