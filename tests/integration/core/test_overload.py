"""Overload at the front door, on the running lab: urgent intakes take their own lane, a request no
intake can take is refused at once with intake's own problem+json and Retry-After, and
`ccdr tickets pipeline` reports the SLO from the tickets themselves."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx

from core.errors import Overloaded
from core.http.problems import PROBLEM_BASE
from infra.lab import front_door, probes
from infra.lab.layout import FRONT_DOOR, LabLayout
from infra.lab.render import haproxy_stats_socket
from loadtests.payloads import Built, PayloadFactory
from loadtests.storm import _critical_alert
from tests.integration.conftest import wait_until
from tests.integration.core.conftest import DESK_AGENT, Front


def _socket(front: Front) -> Path:
    return haproxy_stats_socket(LabLayout(front.topo).dirs_of(FRONT_DOOR))


def _answered(front: Front) -> dict[str, int]:
    lanes = {
        r["pxname"]: r
        for r in probes.haproxy_stats(_socket(front))
        if r["svname"] == "BACKEND" and r["pxname"].startswith("intake_http")
    }
    return {name: int(row["hrsp_2xx"] or 0) for name, row in lanes.items()}


def _send(front: Front, built: Built) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if built.idempotency_key:
        headers["Idempotency-Key"] = built.idempotency_key
    if built.channel in ("alertmanager", "grafana"):
        headers["Authorization"] = f"Bearer {front.secrets.alert_token}"
    if built.channel in ("hotline", "walk_in"):  # entered by a signed-in agent: the desk's session
        headers["Authorization"] = str(front.desk.headers["Authorization"])
    return front.http.post(f"{front.intake}/v1/intake/{built.channel}", content=built.data(), headers=headers)


def test_a_critical_alert_takes_the_urgent_lane_and_a_portal_form_the_normal_one(front: Front) -> None:
    factory = PayloadFactory.seeded("lanes", 1, 5)
    now = datetime.now(UTC)
    before = _answered(front)
    assert _send(front, _critical_alert(factory, now)).status_code == 202
    assert _send(front, factory.agent_entry(now, DESK_AGENT)).status_code == 202
    middle = _answered(front)
    assert middle[front_door.URGENT_BACKEND] == before[front_door.URGENT_BACKEND] + 2
    assert middle[front_door.NORMAL_BACKEND] == before[front_door.NORMAL_BACKEND]
    assert _send(front, factory.portal(now)).status_code == 202
    after = _answered(front)
    assert after[front_door.NORMAL_BACKEND] == middle[front_door.NORMAL_BACKEND] + 1
    assert after[front_door.URGENT_BACKEND] == middle[front_door.URGENT_BACKEND]


def _runtime(front: Front, command: str) -> str:
    with contextlib.closing(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)) as conn:
        conn.settimeout(5)
        conn.connect(str(_socket(front)))
        conn.sendall(command.encode() + b"\n")
        return conn.recv(65536).decode()


@contextlib.contextmanager
def _no_intake_server(front: Front) -> Iterator[None]:
    """Every intake server in maintenance (the urgent lane tracks them), then back."""
    for site in front.topo.data_sites:
        _runtime(front, f"set server {front_door.NORMAL_BACKEND}/{site} state maint")
    try:
        yield
    finally:
        for site in front.topo.data_sites:
            _runtime(front, f"set server {front_door.NORMAL_BACKEND}/{site} state ready")
        wait_until(
            "intake servers back in rotation",
            lambda: all(
                probes.haproxy_servers(_socket(front)).get(front_door.NORMAL_BACKEND, {}).get(s) == "UP"
                for s in front.topo.data_sites
            ),
            timeout=30,
        )


@contextlib.contextmanager
def _site_capacity(front: Front, per_s: int) -> Iterator[None]:
    """The front door's idea of one site's capacity, changed at run time, then put back."""
    configured = front.topo.front_door.intake_admission.site_capacity_per_s
    _runtime(front, f"experimental-mode on; set var proc.intake_site_capacity int({per_s})")
    try:
        yield
    finally:
        _runtime(front, f"experimental-mode on; set var proc.intake_site_capacity int({configured})")


def test_non_urgent_requests_take_the_busy_lane_only_while_arrivals_exceed_capacity(front: Front) -> None:
    factory = PayloadFactory.seeded("busy", 4, 5)
    before = _answered(front)
    assert _send(front, factory.portal(datetime.now(UTC))).status_code == 202
    calm = _answered(front)
    assert calm[front_door.NORMAL_BACKEND] == before[front_door.NORMAL_BACKEND] + 1
    assert calm[front_door.BUSY_BACKEND] == before[front_door.BUSY_BACKEND]
    with _site_capacity(front, 0):  # any arrival now exceeds what the sites can take
        assert _send(front, factory.portal(datetime.now(UTC))).status_code == 202
        assert _send(front, _critical_alert(factory, datetime.now(UTC))).status_code == 202
    busy = _answered(front)
    assert busy[front_door.BUSY_BACKEND] == calm[front_door.BUSY_BACKEND] + 1
    assert busy[front_door.URGENT_BACKEND] == calm[front_door.URGENT_BACKEND] + 1  # urgent keeps its lane
    assert busy[front_door.NORMAL_BACKEND] == calm[front_door.NORMAL_BACKEND]


def test_a_request_no_intake_can_take_is_refused_at_once_with_a_problem_and_retry_after(front: Front) -> None:
    factory = PayloadFactory.seeded("door", 2, 5)
    with _no_intake_server(front):
        started = datetime.now(UTC)
        r = _send(front, factory.portal(started))
        waited = (datetime.now(UTC) - started).total_seconds()
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["retry-after"] == str(front.topo.front_door.intake_admission.retry_after_s)
    assert r.json()["type"] == PROBLEM_BASE + Overloaded.code
    assert waited < front.topo.front_door.intake_admission.queue_timeout_ms / 1000 + 2  # not a hang


def test_the_pipeline_view_judges_the_slo_from_the_tickets_just_made(front: Front) -> None:
    factory = PayloadFactory.seeded("view", 3, 5)
    r = _send(front, factory.portal(datetime.now(UTC)))
    assert r.status_code == 202
    front.ticket(r.json()["ticket_code"])
    done = subprocess.run(
        [sys.executable, "-m", "ccdr", "tickets", "pipeline", "--json", "--window", "600"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode in (0, 4), done.stderr
    view = json.loads(done.stdout)
    assert view["slo"]["tickets"] >= 1
    assert view["slo"]["slo_s"] == front.topo.tickets.slo_s
    assert (done.returncode == 4) == (view["verdict"] == "breached")
    assert {s["site"] for s in view["sites"]} == set(front.topo.data_sites)
    assert all(s["intake_answered"] and s["worker_answered"] for s in view["sites"])
    assert [lane["backend"] for lane in view["front_door"]] == [
        front_door.NORMAL_BACKEND,
        front_door.BUSY_BACKEND,
        front_door.URGENT_BACKEND,
    ]
