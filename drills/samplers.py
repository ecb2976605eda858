"""Probes sampled for the whole drill, each on its own thread, as an outside client would see it.

- agent_login: an agent logs in (and out again) through the front door's ticket API;
- database_primary: a transaction that needs a writable primary (`txid_current()`), through
  the front door's primary port;
- sla_clock: who holds the SLA-clock leadership in ZooKeeper (the checker judges a leader on a
  site that the fault took away as no leader).
Each sample has its own timeout, so a hung dependency shows as failures, not as a silent gap.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import psycopg

from drills.chaos.probes import logout, probe_agent_login
from drills.model import Sample
from failover.coordination import SLA_CLOCK, Coordination, CoordinationUnavailable
from failover.zookeeper import ZooKeeperCoordination
from infra.lab import secrets as lab_secrets
from infra.lab.pki import front_door_tls, zookeeper_tls
from infra.topology import Topology

log = logging.getLogger(__name__)

AGENT_LOGIN = "agent_login"
DATABASE_PRIMARY = "database_primary"
SLA_CLOCK_LEADER = "sla_clock"
OBSERVER_SESSION_S = 10

Probe = Callable[[], tuple[bool, str | None]]  # (ok, detail)


@dataclass
class Sampler:
    """Calls `probe` every `interval_s` until stopped; keeps every sample."""

    capability: str
    probe: Probe
    interval_s: float

    def __post_init__(self) -> None:
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"sampler-{self.capability}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> list[Sample]:
        self._stop.set()
        self._thread.join(timeout=30)
        return list(self.samples)

    def _loop(self) -> None:
        next_at = time.time()
        while not self._stop.is_set():
            at = time.time()
            try:
                ok, detail = self.probe()
            except Exception as exc:  # noqa: BLE001 - any failure of the probe is a failed sample
                ok, detail = False, f"{type(exc).__name__}: {exc}"[:200]
            latency = time.time() - at
            self.samples.append(Sample(capability=self.capability, at=at, ok=ok, latency_s=latency, detail=detail))
            next_at += self.interval_s
            self._stop.wait(max(0.0, next_at - time.time()))


def agent_login_probe(topo: Topology, password: str, timeout_s: float) -> Probe:
    base = topo.front_door_url("tickets")
    client = httpx.Client(timeout=timeout_s, verify=front_door_tls(topo))

    def probe() -> tuple[bool, str | None]:
        r = probe_agent_login(client, base, password)
        if r.status_code != 200:
            return False, f"HTTP {r.status_code}"
        body = r.json()
        logout(client, base, body["token"])
        return True, str(body.get("site"))

    return probe


def database_primary_probe(dsn: str, timeout_s: float) -> Probe:
    def probe() -> tuple[bool, str | None]:
        with psycopg.connect(dsn, connect_timeout=max(1, int(timeout_s)), autocommit=True) as conn:
            conn.execute(f"SET statement_timeout = {int(timeout_s * 1000)}")
            row = conn.execute("SELECT txid_current(), inet_server_addr()::text").fetchone()
        return True, str(row[1]) if row else None

    return probe


def observer_session(topo: Topology) -> ZooKeeperCoordination:
    """The drill's own read-only ZooKeeper session (from outside the sites), started."""
    coord = ZooKeeperCoordination(
        topo.zookeeper_connect(),
        "drill",
        session_timeout=OBSERVER_SESSION_S,
        op_timeout=topo.failover.op_timeout_s,
        auth=lab_secrets.zookeeper_auth(topo),
        tls=zookeeper_tls(topo),
    )
    coord.start(timeout=OBSERVER_SESSION_S)
    return coord


def leader_probe(coord: Coordination) -> Probe:
    """Who holds the SLA-clock leadership; the detail is the leader's site."""

    def probe() -> tuple[bool, str | None]:
        try:
            term = coord.leader(SLA_CLOCK)
        except CoordinationUnavailable as exc:
            return False, f"ZooKeeper unavailable: {exc}"[:200]
        return (term is not None), (term.holder if term else None)

    return probe
