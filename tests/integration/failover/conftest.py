"""Fixtures for failover tests: an outside view of ZooKeeper, and the services' own logs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from failover.coordination import CoordinationUnavailable, Term
from failover.zookeeper import ZooKeeperCoordination
from infra.lab import secrets as lab_secrets
from infra.lab.layout import LabLayout
from infra.lab.pki import zookeeper_tls
from infra.topology import Topology
from tests.integration.core.conftest import front, unique  # noqa: F401 - shared fixtures


class Observer:
    """Reads ZooKeeper from the root namespace, as `ccdr failover status` does."""

    def __init__(self, topo: Topology) -> None:
        self.topo = topo
        self.coord = ZooKeeperCoordination(
            topo.zookeeper_connect(),
            "test",
            session_timeout=10,
            op_timeout=topo.failover.op_timeout_s,
            auth=lab_secrets.zookeeper_auth(topo),
            tls=zookeeper_tls(topo),
        )
        self.coord.start(timeout=10)

    # None when the ensemble does not answer (the test's own session may sit on a cut-off node):
    # these are polled with wait_until.
    def leader(self, role: str) -> Term | None:
        try:
            return self.coord.leader(role)
        except CoordinationUnavailable:
            return None

    def presence(self) -> dict[str, dict[str, Any]]:
        try:
            return self.coord.members("presence")
        except CoordinationUnavailable:
            return {}

    def owner(self, component: str) -> str | None:
        try:
            owner = self.coord.owner(component)
        except CoordinationUnavailable:
            return None
        return owner.site if owner else None


@pytest.fixture(scope="module")
def observer(lab: Topology) -> Iterator[Observer]:
    obs = Observer(lab)
    yield obs
    obs.coord.stop()


def log_records(lab: Topology, site: str, program: str, since: datetime) -> list[dict[str, Any]]:
    """JSON log records of one program at one site, logged at or after `since` (local clock)."""
    path = LabLayout(lab).site(site).log_of(program)
    out = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        at = datetime.strptime(rec["time"], "%Y-%m-%d %H:%M:%S,%f")
        if at >= since:
            out.append({**rec, "at": at})
    return out
