"""What the failover layer knows, read from the coordination service: each data site's registry
record (its own view of ZooKeeper, Kafka and Patroni, and its heartbeat), who holds each singleton
role and under which epoch, who runs each cold component, and how many agents are present.
`ccdr failover status` prints it; the console's SRE status page shows it."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from failover.coordination import DISPATCHER, SLA_CLOCK, Coordination
from failover.cutoff import record_posture

ROLES = (SLA_CLOCK, DISPATCHER)


def collect(coord: Coordination, data_sites: Iterable[str], cold: dict[str, str]) -> dict[str, Any]:
    """`cold`: each cold component's declared site. A site without a record is reported unregistered
    (lost, or its failover agent is down), never left out."""
    now = time.time()
    records = coord.members("sites")
    leaders = {role: coord.leader(role) for role in ROLES}
    sites = {}
    for name in data_sites:
        rec = records.get(name)
        posture, reason = record_posture(rec)
        sites[name] = {
            "registered": rec is not None,
            "heartbeat_age_s": round(now - float(rec["heartbeat_at"]), 1) if rec else None,
            "leads": {r: t.epoch for r, t in leaders.items() if t and t.holder == name},
            "cold_running": rec.get("cold_running", []) if rec else [],
            "zookeeper": rec.get("zookeeper") if rec else None,
            "kafka": rec.get("kafka") if rec else None,
            "patroni": rec.get("patroni") if rec else None,
            "posture": posture,  # serving, stepped aside, or None (an agent without the rule)
            "posture_reason": reason,
        }
    components = {}
    for name, declared in cold.items():
        owner = coord.owner(name)
        components[name] = {
            "declared_site": declared,
            "owner": owner.site if owner else None,
            "pending_requests": [r.__dict__ for r in coord.activation_requests(name)],
        }
    roles = {r: ({"holder": t.holder, "epoch": t.epoch, "since": t.since} if t else None) for r, t in leaders.items()}
    return {"sites": sites, "roles": roles, "cold": components, "presence": len(coord.members("presence"))}


__all__ = ["ROLES", "collect"]
