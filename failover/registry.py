"""The site registry: each failover agent publishes an ephemeral record of its site — the roles
it leads with their epochs, its cold components, and its own view of ZooKeeper, Kafka and
Patroni — refreshed every heartbeat. `ccdr failover status` reads every site's record."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import time
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from failover.coordination import Coordination, SessionState, Term

SITES = "sites"


def tcp_reachable(host_port: str, timeout: float) -> bool:
    host, _, port = host_port.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def patroni_role(url: str, ca: str | None, timeout: float) -> str:
    context = ssl.create_default_context(cafile=ca) if url.startswith("https://") else None
    try:
        with urllib.request.urlopen(f"{url}/patroni", timeout=timeout, context=context) as resp:
            body = json.loads(resp.read() or b"{}")
    except (OSError, ValueError):
        return "unreachable"
    return f"{body.get('role', '?')} ({body.get('state', '?')})"


async def site_views(
    kafka_bootstrap: Sequence[str], patroni_url: str, patroni_ca: str | None = None, timeout: float = 1.0
) -> dict[str, Any]:
    """This site's own view of its dependencies (what an operator wants when sites disagree)."""
    brokers = await asyncio.gather(*(asyncio.to_thread(tcp_reachable, b, timeout) for b in kafka_bootstrap))
    patroni = await asyncio.to_thread(patroni_role, patroni_url, patroni_ca, timeout)
    return {
        "kafka": {b: ("reachable" if ok else "unreachable") for b, ok in zip(kafka_bootstrap, brokers, strict=True)},
        "patroni": patroni,
    }


def record(
    coord: Coordination, leading: Mapping[str, Term | None], cold: Mapping[str, bool], views: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "site": coord.site,
        "heartbeat_at": time.time(),
        "roles": {role: term.epoch for role, term in leading.items() if term is not None},
        "cold_running": sorted(name for name, running in cold.items() if running),
        "zookeeper": {"session": coord.state.value, "session_id": f"{coord.session_id or 0:#x}"},
        **views,
    }


def publish(coord: Coordination, data: Mapping[str, Any]) -> bool:
    """Write this site's record; False when there is no session to write it with."""
    if coord.state is not SessionState.CONNECTED:
        return False
    coord.announce(SITES, coord.site, data)
    return True
