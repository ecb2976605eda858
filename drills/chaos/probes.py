"""Steady-state probes for Chaos Toolkit experiments: what a client of the desk must always get.

Each returns a plain value the experiment's tolerance compares (`true`), and never raises for
a failed check: a failure is `False`, so Chaos Toolkit reports a deviation, not an error.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from pathlib import Path

import httpx

from drills.canary import CHANNEL, canary_body
from infra.lab import health
from infra.lab import secrets as lab_secrets
from infra.lab.layout import LabLayout
from infra.lab.pki import front_door_tls
from infra.topology import Topology, load_topology

__all__ = ["agent_can_log_in", "intake_acknowledges", "lab_converged", "ticket_visible_within"]

PROBE_AGENT = "khoa.ly"  # the lab's SRE demo agent
STEADY_SUBJECT = "drill steady-state "
HTTP_TIMEOUT_S = 10.0


def _topology(topology: str) -> Topology:
    """The lab the experiment names (its `topology` configuration, set by `ccdr drill run
    --topology`); "" is the default topology. Never another lab than the drill measures."""
    return load_topology(Path(topology) if topology else None)


def _intake_url(topo: Topology) -> str:
    return topo.front_door_url("intake") + f"/v1/intake/{CHANNEL}"


def _tickets_url(topo: Topology) -> str:
    return topo.front_door_url("tickets")


def _post_intake(client: httpx.Client, topo: Topology, key: str | None = None) -> str | None:
    key = key or f"steady-{uuid.uuid4().hex[:12]}"
    try:
        r = client.post(
            _intake_url(topo),
            json=canary_body("steady-state", key, subject_prefix=STEADY_SUBJECT),
            headers={"Idempotency-Key": key},
        )
    except httpx.TransportError:
        return None
    return str(r.json()["ticket_code"]) if r.status_code == 202 else None


def intake_acknowledges(topology: str = "") -> bool:
    """An intake through the front door is acknowledged (202)."""
    topo = _topology(topology)
    with httpx.Client(timeout=HTTP_TIMEOUT_S, verify=front_door_tls(topo)) as client:
        return _post_intake(client, topo) is not None


def probe_agent_login(client: httpx.Client, tickets_url: str, password: str) -> httpx.Response:
    """The probe agent logs in through `tickets_url` (transport errors propagate)."""
    return client.post(f"{tickets_url}/v1/agents/login", json={"agent_id": PROBE_AGENT, "password": password})


def logout(client: httpx.Client, tickets_url: str, token: str) -> None:
    with contextlib.suppress(httpx.TransportError):  # the session expires anyway
        client.post(f"{tickets_url}/v1/agents/logout", headers={"Authorization": f"Bearer {token}"})


def _login(client: httpx.Client, topo: Topology) -> str | None:
    password = lab_secrets.load(LabLayout(topo)).agent_password
    try:
        r = probe_agent_login(client, _tickets_url(topo), password)
    except httpx.TransportError:
        return None
    return str(r.json()["token"]) if r.status_code == 200 else None


def agent_can_log_in(topology: str = "") -> bool:
    """An agent logs in through the front door (and logs out again)."""
    topo = _topology(topology)
    with httpx.Client(timeout=HTTP_TIMEOUT_S, verify=front_door_tls(topo)) as client:
        token = _login(client, topo)
        if token is None:
            return False
        logout(client, _tickets_url(topo), token)
        return True


def ticket_visible_within(seconds: float = 30, topology: str = "") -> bool:
    """A new intake becomes a ticket an agent can read via the API within `seconds`, counted from
    the first attempt to send it (each step is retried within that budget, as a client would)."""
    topo = _topology(topology)
    deadline = time.monotonic() + seconds
    key = f"steady-{uuid.uuid4().hex[:12]}"  # retries reuse it: one intake, however many attempts
    with httpx.Client(timeout=HTTP_TIMEOUT_S, verify=front_door_tls(topo)) as client:
        code = token = None
        while time.monotonic() < deadline and (code is None or token is None):
            code = code or _post_intake(client, topo, key)
            token = token or _login(client, topo)
            if code is None or token is None:
                time.sleep(0.5)
        if code is None or token is None:
            return False
        auth = {"Authorization": f"Bearer {token}"}
        try:
            while time.monotonic() < deadline:
                try:
                    r = client.get(f"{_tickets_url(topo)}/v1/tickets/{code}", headers=auth)
                    if r.status_code == 200:
                        return True
                except httpx.TransportError:
                    pass
                time.sleep(0.5)
            return False
        finally:
            logout(client, _tickets_url(topo), token)


def converged(topo: Topology) -> tuple[bool, str]:
    """Quorum, brokers in sync, a primary with a sync standby, every service in the front door."""
    for check in (
        health.zookeeper_quorum(topo),
        health.kafka_brokers(topo),
        health.patroni_pair(topo),
        health.services(LabLayout(topo)),
    ):
        ok, detail = check()
        if not ok:
            return False, detail
    return True, "ZooKeeper quorum, Kafka in sync, PostgreSQL primary + sync standby, services in the front door"


def lab_converged(topology: str = "") -> bool:
    """The lab is whole again (see `converged`)."""
    return converged(_topology(topology))[0]
