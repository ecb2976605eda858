"""Who holds what, read from outside: the lab status and ZooKeeper's leader/owner records."""

from __future__ import annotations

import logging

from drills.report import Roles
from failover.coordination import DISPATCHER, SLA_CLOCK, Coordination, CoordinationUnavailable
from infra.lab.layout import LabLayout
from infra.lab.status import collect
from infra.topology import Topology

log = logging.getLogger(__name__)
NOTIFIER = "notifier"


def snapshot(topo: Topology, coord: Coordination) -> Roles:
    status = collect(LabLayout(topo), quorum=True)
    by_node = {s.controller_id: name for name, s in topo.sites.items()}
    controller = status.kafka.active_controller if status.kafka else None

    def leader(role: str) -> str | None:
        try:
            term = coord.leader(role)
        except CoordinationUnavailable:
            return None
        return f"{term.holder} (epoch {term.epoch})" if term else None

    try:
        owner = coord.owner(NOTIFIER)
    except CoordinationUnavailable:
        owner = None
    return Roles(
        patroni_primary=status.patroni_primary,
        patroni_sync_standby=status.patroni_sync_standby,
        kafka_controller=by_node.get(controller) if controller is not None else None,
        sla_clock_leader=leader(SLA_CLOCK),
        dispatcher_leader=leader(DISPATCHER),
        notifier_owner=owner.site if owner else None,
    )
