"""The front door's share of intake admission: lanes by urgency, a refusal that is intake's own
problem+json, and a config HAProxy itself accepts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.errors import Overloaded
from core.http.problems import PROBLEM_BASE
from infra.lab import front_door
from infra.lab.layout import FRONT_DOOR, LabLayout
from infra.lab.render import render_group
from infra.topology import load_topology
from loadtests.payloads import PayloadFactory
from tests.unit.infra.test_render import SECRETS

NOW = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)


def _with_severity(body: bytes, severity: str) -> bytes:
    data = json.loads(body)
    for alert in data["alerts"]:
        alert["labels"]["severity"] = severity
    return json.dumps(data).encode()


@pytest.mark.parametrize("channel", ["alertmanager", "grafana"])
def test_a_critical_alert_is_recognised_by_the_urgent_lanes_pattern(channel: str) -> None:
    factory = PayloadFactory.seeded("lanes", 0, 3)
    body = getattr(factory, channel)(NOW).data()
    pattern = re.compile(front_door.critical_alert_regex().encode(), re.IGNORECASE)
    assert pattern.search(_with_severity(body, "Critical"))
    assert pattern.search(_with_severity(body, "P1"))
    assert not pattern.search(_with_severity(body, "warning"))


def test_the_front_doors_refusal_is_intakes_own_problem_with_retry_after() -> None:
    raw = front_door.overloaded_errorfile(retry_after_s=2)
    head, body = raw.split("\r\n\r\n", 1)
    lines = head.split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert lines[0] == "HTTP/1.1 503 Service Unavailable"
    assert headers["Retry-After"] == "2"
    assert headers["Content-Type"] == "application/problem+json"
    assert int(headers["Content-Length"]) == len(body.encode())
    assert "Connection" not in headers  # a refused client keeps its connection for the retry
    problem = json.loads(body)
    assert problem["type"] == PROBLEM_BASE + Overloaded.code
    assert problem["status"] == 503


def _backend(cfg: str, name: str) -> str:
    return cfg.split(f"\nbackend {name}\n")[1].split("\nbackend ")[0].split("\n# ")[0]


def test_each_lane_bounds_every_intake_server_and_only_urgent_requests_take_the_urgent_one() -> None:
    topo = load_topology()
    admission = topo.front_door.intake_admission
    cfg = {f.path.name: f for f in render_group(LabLayout(topo), FRONT_DOOR, SECRETS)}["haproxy.cfg"].content
    normal = _backend(cfg, front_door.NORMAL_BACKEND)
    busy = _backend(cfg, front_door.BUSY_BACKEND)
    urgent = _backend(cfg, front_door.URGENT_BACKEND)
    assert f"maxconn {admission.server_maxconn}" in normal and f"maxconn {admission.server_maxconn}" in busy
    assert f"timeout queue {admission.stall_queue_timeout_ms}ms" in normal
    assert f"timeout queue {admission.queue_timeout_ms}ms" in busy
    assert f"maxconn {admission.urgent_server_maxconn}" in urgent
    assert f"timeout queue {admission.urgent_queue_timeout_ms}ms" in urgent
    for name in topo.data_sites:
        assert f"server {name} " in normal and "check port" in normal
        assert f"track {front_door.NORMAL_BACKEND}/{name}" in busy
        assert f"track {front_door.NORMAL_BACKEND}/{name}" in urgent
    assert "acl urgent_channel path /v1/intake/hotline /v1/intake/walk_in" in cfg
    assert f"use_backend {front_door.URGENT_BACKEND} if urgent_channel || alert_channel critical_alert" in cfg


def test_intake_and_the_ticket_api_have_the_tight_service_checks_and_the_database_the_shared_ones() -> None:
    topo = load_topology()
    timers = topo.timers.haproxy
    cfg = {f.path.name: f for f in render_group(LabLayout(topo), FRONT_DOOR, SECRETS)}["haproxy.cfg"].content
    for backend in (front_door.NORMAL_BACKEND, "tickets_http", "tickets_reads"):
        section = _backend(cfg, backend)
        assert f"timeout check {timers.service_check_timeout_ms}ms" in section, backend
        tight = f"inter {timers.service_check_interval_ms}ms fastinter {timers.service_fastinter_ms}ms"
        assert tight in section, backend
    database = cfg.split("\nlisten postgres_primary\n")[1].split("\nlisten ")[0]
    assert f"inter {timers.check_interval_ms}ms fall" in database and "timeout check" not in database
    assert f"timeout check {timers.check_timeout_ms}ms" in cfg.split("\nlisten ")[0]  # the defaults


def test_the_busy_lane_is_chosen_when_arrivals_exceed_the_capacity_of_the_sites_up() -> None:
    topo = load_topology()
    admission = topo.front_door.intake_admission
    cfg = {f.path.name: f for f in render_group(LabLayout(topo), FRONT_DOOR, SECRETS)}["haproxy.cfg"].content
    frontend = cfg.split("\nfrontend intake_http\n")[1].split("\nbackend ")[0]
    assert f"set-var proc.intake_site_capacity int({admission.site_capacity_per_s})" in cfg
    assert f"nbsrv({front_door.NORMAL_BACKEND}),mul(proc.intake_site_capacity)" in frontend
    rules = [
        line.strip() for line in frontend.splitlines() if line.strip().startswith(("use_backend", "default_backend"))
    ]
    assert rules == [  # urgent first: an urgent request never takes the busy lane
        f"use_backend {front_door.URGENT_BACKEND} if urgent_channel || alert_channel critical_alert",
        f"use_backend {front_door.BUSY_BACKEND} if arrivals_beyond_capacity",
        f"default_backend {front_door.NORMAL_BACKEND}",
    ]


def test_a_stall_is_never_waited_out_for_less_than_overload() -> None:
    admission = load_topology().front_door.intake_admission
    with pytest.raises(ValidationError, match="stall_queue_timeout_ms"):
        admission.model_validate(admission.model_dump() | {"stall_queue_timeout_ms": admission.queue_timeout_ms - 1})


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is installed by `make install`")
def test_haproxy_accepts_the_rendered_front_door(tmp_path: Path) -> None:
    topo = load_topology()
    topo = topo.model_copy(update={"lab": topo.lab.model_copy(update={"state_dir": tmp_path})})
    files = render_group(LabLayout(topo), FRONT_DOOR, SECRETS)
    for f in files:
        f.path.parent.mkdir(parents=True, exist_ok=True)
        f.path.write_text(f.content)
    cfg = next(f.path for f in files if f.path.name == "haproxy.cfg")
    checked = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
