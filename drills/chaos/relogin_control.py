"""A Chaos Toolkit control that fires the re-login surge when the fault begins: every agent of
the lost site signs in again at the other within seconds (loadtests.relogin.surge).

The drill runner adds it to the experiment when asked (`ccdr drill run --relogin N`) and collects
the sign-ins afterwards; the surge runs in its own thread so the fault's action is not held up.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drills.model import SignInRecord
from infra.lab import secrets as lab_secrets
from infra.lab.layout import LabLayout
from infra.topology import Topology, load_topology
from loadtests.relogin import topology_surge

__all__ = ["before_activity_control", "collect", "declaration"]

MODULE = __name__


@dataclass
class _Surge:
    thread: threading.Thread | None = None
    records: list[SignInRecord] = field(default_factory=list)
    error: str | None = None


_surges: dict[str, _Surge] = {}
_lock = threading.Lock()


def declaration(drill_id: str, fault_activity: str, agents: list[str], count: int, topology: str) -> dict[str, Any]:
    """The control's entry in an experiment's `controls` (no secret in it: the journal keeps it)."""
    with _lock:
        _surges[drill_id] = _Surge()
    arguments = {
        "drill_id": drill_id,
        "fault_activity": fault_activity,
        "agents": agents,
        "count": count,
        "topology": topology,
    }
    return {"name": "relogin-surge", "provider": {"type": "python", "module": MODULE, "arguments": arguments}}


def before_activity_control(
    context: dict[str, Any],
    drill_id: str,
    fault_activity: str,
    agents: list[str],
    count: int,
    topology: str = "",
    **_: Any,
) -> None:
    """At the fault's action (and only there), start the surge after `drills.relogin_after_s`."""
    if context.get("name") != fault_activity:
        return
    with _lock:
        state = _surges.get(drill_id)
        if state is None or state.thread is not None:
            return
        topo = load_topology(Path(topology) if topology else None)
        fault_at = time.time()
        state.thread = threading.Thread(
            target=_run, args=(state, topo, fault_at, agents, count), name="relogin-surge", daemon=True
        )
        state.thread.start()


def _run(state: _Surge, topo: Topology, fault_at: float, agents: list[str], count: int) -> None:
    d = topo.drills
    time.sleep(max(0.0, fault_at + d.relogin_after_s - time.time()))
    began = time.time()
    try:
        password = lab_secrets.load(LabLayout(topo)).agent_password
        outcomes = asyncio.run(topology_surge(topo, agents, password, count))
    except Exception as exc:  # noqa: BLE001 - recorded, the drill reports it; a control must not raise
        state.error = f"{type(exc).__name__}: {exc}"
        return
    state.records = [
        SignInRecord(
            agent=o.agent,
            sent=began + o.sent,
            latency_s=o.latency_s,
            status=o.status,
            site=o.site,
            attempts=o.attempts,
        )
        for o in outcomes
    ]


def collect(drill_id: str, timeout_s: float) -> tuple[list[SignInRecord], str | None]:
    """The surge's sign-ins once it is over (waiting at most `timeout_s`), and its error if it broke;
    ([], None) when it never fired (the fault's action never ran)."""
    with _lock:
        state = _surges.pop(drill_id, None)
    if state is None or state.thread is None:
        return [], None
    state.thread.join(timeout_s)
    if state.thread.is_alive():
        return [], f"the re-login surge was still running after {timeout_s:g} s"
    return state.records, state.error
