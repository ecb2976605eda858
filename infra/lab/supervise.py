"""Process supervision: one supervisord per group (site namespace or the front door).

Talks to each supervisord over its unix socket with supervisor's own XML-RPC transport.
"""

from __future__ import annotations

import contextlib
import http.client
import sys
import time
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from infra.lab.errors import LabError
from infra.lab.layout import FRONT_DOOR, LabLayout
from infra.lab.render import group_name
from infra.lab.system import run
from infra.supervisor_rpc import rpc_proxy as _proxy

SUPERVISORD = Path(sys.executable).with_name("supervisord")
SETTLE_TIMEOUT_S = 120.0
STOPPED_STATES = {"STOPPED", "EXITED", "FATAL"}


@dataclass(frozen=True)
class ProcessState:
    group: str
    name: str
    state: str  # supervisor's statename: RUNNING, STARTING, BACKOFF, STOPPED, FATAL, EXITED...
    pid: int
    log: Path

    @property
    def running(self) -> bool:
        return self.state == "RUNNING"


def is_up(layout: LabLayout, group: str) -> bool:
    sock = layout.dirs_of(group).supervisor_socket
    if not sock.exists():
        return False
    try:
        return cast(str, _proxy(sock).supervisor.getState()["statename"]) == "RUNNING"
    except (OSError, xmlrpc.client.Fault, http.client.HTTPException):
        return False


def start(layout: LabLayout, group: str) -> None:
    """Start the group's supervisord (inside the site's namespace); it starts its programs."""
    if is_up(layout, group):
        return
    dirs = layout.dirs_of(group)
    command = [str(SUPERVISORD), "-c", str(dirs.supervisor_conf)]
    if group != FRONT_DOOR:
        command = ["ip", "netns", "exec", layout.topology.site(group).namespace, *command]
    run(command)


def reload(layout: LabLayout, group: str) -> None:
    """Pick up changed program definitions (idempotent `up` after a topology edit, or a checkout
    elsewhere whose programs run from another venv)."""
    proxy = _proxy(layout.dirs_of(group).supervisor_socket)
    try:
        added, changed, removed = proxy.supervisor.reloadConfig()[0]
        for name in removed + changed:
            # wait=False, then poll: stopping a broker outlasts one XML-RPC call's timeout.
            proxy.supervisor.stopProcessGroup(name, False)
            settle(proxy, name, None, STOPPED_STATES)
            proxy.supervisor.removeProcessGroup(name)
        for name in changed + added:
            proxy.supervisor.addProcessGroup(name)
        # wait=False too: starting every program of a site outlasts one call's timeout (seen when
        # every program's command changed); `up` then waits for the components themselves.
        proxy.supervisor.startAllProcesses(False)
    except (OSError, xmlrpc.client.Fault, http.client.HTTPException) as exc:
        raise LabError(f"supervisord of {group} did not take its new configuration: {exc}") from None


def settle(proxy: Any, group: str, name: str | None, states: set[str], timeout_s: float = SETTLE_TIMEOUT_S) -> None:
    """Poll supervisord until every process of `group` (or just `name` in it) is in one of `states`.
    Start/stop calls are made with wait=False and then settled here: supervisor's own waiting runs
    inside one XML-RPC call, which a slow stop (a broker's orderly shutdown) outlasts."""
    deadline = time.monotonic() + timeout_s
    while True:
        pending = {
            f"{p['name']}: {p['statename']}"
            for p in cast(list[dict[str, Any]], proxy.supervisor.getAllProcessInfo())
            if p["group"] == group and (name is None or p["name"] == name) and p["statename"] not in states
        }
        if not pending:
            return
        if time.monotonic() > deadline:
            raise LabError(
                f"{group}: {', '.join(sorted(pending))} after {timeout_s:.0f} s (wanted {'/'.join(sorted(states))})"
            )
        time.sleep(0.5)


def processes(layout: LabLayout, group: str) -> list[ProcessState]:
    dirs = layout.dirs_of(group)
    if not is_up(layout, group):
        return []
    infos = _proxy(dirs.supervisor_socket).supervisor.getAllProcessInfo()
    return [
        ProcessState(group, info["name"], info["statename"], info["pid"], dirs.log_of(info["name"])) for info in infos
    ]


def shutdown(layout: LabLayout, group: str) -> None:
    """Ask the group's supervisord to stop its programs and exit (graceful)."""
    if not is_up(layout, group):
        return
    with contextlib.suppress(OSError, xmlrpc.client.Fault, http.client.HTTPException):
        _proxy(layout.dirs_of(group).supervisor_socket).supervisor.shutdown()


def stop_program(layout: LabLayout, site: str, program: str, timeout_s: float = SETTLE_TIMEOUT_S) -> None:
    """Stop one program of a site and wait until it is down (a no-op if it is)."""
    _program_to(layout, site, program, running=False, timeout_s=timeout_s)


def start_program(layout: LabLayout, site: str, program: str, timeout_s: float = SETTLE_TIMEOUT_S) -> None:
    """Start one program of a site and wait until supervisord has it RUNNING (a no-op if it is)."""
    _program_to(layout, site, program, running=True, timeout_s=timeout_s)


def _program_to(layout: LabLayout, site: str, program: str, *, running: bool, timeout_s: float) -> None:
    proxy = _proxy(layout.dirs_of(site).supervisor_socket)
    group = group_name(site)
    state = next(
        p["statename"] for p in proxy.supervisor.getAllProcessInfo() if p["group"] == group and p["name"] == program
    )
    if running and state != "RUNNING":
        proxy.supervisor.startProcess(f"{group}:{program}", False)
        settle(proxy, group, program, {"RUNNING"}, timeout_s)
    elif not running and state not in STOPPED_STATES:
        proxy.supervisor.stopProcess(f"{group}:{program}", False)
        settle(proxy, group, program, STOPPED_STATES, timeout_s)


def restart_if_running(layout: LabLayout, site: str, program: str, timeout_s: float = SETTLE_TIMEOUT_S) -> None:
    """Stop and start one program that is running (one that is stopped is left so). A cold program
    may be started again by its site's failover agent as soon as it stops: that counts as done."""
    proxy = _proxy(layout.dirs_of(site).supervisor_socket)
    name = f"{group_name(site)}:{program}"
    before = proxy.supervisor.getProcessInfo(name)
    if before["statename"] in STOPPED_STATES:
        return
    with contextlib.suppress(xmlrpc.client.Fault):  # NOT_RUNNING: it stopped meanwhile
        # Not waited on inside the call: a service finishing in-flight requests under load outlasts
        # the RPC's socket timeout (`lab up` died so, leaving intake stopped).
        proxy.supervisor.stopProcess(name, False)
    deadline = time.monotonic() + timeout_s
    started = False
    while True:
        now = proxy.supervisor.getProcessInfo(name)
        if now["statename"] == "RUNNING" and now["pid"] != before["pid"]:
            return
        # Stopped: start it. Its failover agent may have started it again between two polls (the
        # stopped state never seen), which is as good.
        if now["statename"] in STOPPED_STATES and not started:
            with contextlib.suppress(xmlrpc.client.Fault):  # ALREADY_STARTED: someone restarted it first
                proxy.supervisor.startProcess(name, False)
            started = True
        if time.monotonic() > deadline:
            raise LabError(f"{name}: {now['statename']} after {timeout_s:.0f} s (wanted RUNNING again)")
        time.sleep(0.2)
