"""The environment a drill ran in, for the report: versions, commit, host, sites."""

from __future__ import annotations

import importlib.metadata
import platform
import socket
import subprocess
from pathlib import Path

from drills.report import Environment
from infra.lab.layout import LabLayout
from infra.topology import Topology

PROJECT = Path(__file__).resolve().parent.parent


def _run(*command: str) -> str | None:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr).strip() else None


def _dist(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _deb(package: str) -> str | None:
    return _run("dpkg-query", "-W", "-f=${Version}", package)


def collect_environment(topo: Topology) -> Environment:
    layout = LabLayout(topo)
    components = {
        "kafka": topo.lab.kafka_version,
        "zookeeper (deb)": _deb("zookeeper"),
        "postgresql-15 (deb)": _deb("postgresql-15"),
        "haproxy (deb)": _deb("haproxy"),
        "patroni": _run(str(layout.patroni_venv / "bin" / "patroni"), "--version"),
        "chaostoolkit-lib": _dist("chaostoolkit-lib"),
        "locust": _dist("locust"),
    }
    dirty = _run("git", "-C", str(PROJECT), "status", "--porcelain", "--untracked-files=no")
    commit = _run("git", "-C", str(PROJECT), "rev-parse", "HEAD")
    return Environment(
        ccdr_version=_dist("ccdr") or "unknown",
        commit=f"{commit}{' (modified)' if dirty else ''}" if commit else None,
        host=socket.gethostname(),
        python=platform.python_version(),
        components={k: v for k, v in components.items() if v},
        sites={name: f"{s.role} {s.address}" for name, s in sorted(topo.sites.items())},
    )
