"""The lab's waits (probe answers stubbed): the ticket workers' consumer group settling, and a
restored site back in the Patroni pair."""

from __future__ import annotations

import pytest

from infra.lab import health, probes
from infra.topology import load_topology


@pytest.mark.parametrize(
    ("held", "settled"),
    [
        ({"a": 3, "b": 3}, True),
        ({"a": 6, "b": 0}, False),  # b's worker has not joined yet: a rebalance is still to come
        ({"a": 6, "b": None}, False),  # b's worker does not answer
        ({"a": 3, "b": 2}, False),  # mid-rebalance: a partition is held by nobody
    ],
)
def test_the_ticket_workers_are_settled_only_when_every_site_holds_a_share_of_every_partition(
    monkeypatch: pytest.MonkeyPatch, held: dict[str, int | None], settled: bool
) -> None:
    topo = load_topology()
    topo = topo.model_copy(update={"kafka": topo.kafka.model_copy(update={"partitions": 6})})
    monkeypatch.setattr(probes, "ticket_worker_partitions", lambda _topo, site: held[site])
    ok, detail = health.ticket_workers(topo, sites=["a", "b"])()
    assert ok is settled
    assert "of 6" in detail


def test_the_lab_reads_the_gauge_the_ticket_worker_exports() -> None:
    from core.tickets.kafka.consumer import PARTITIONS_HELD_METRIC

    assert probes.PARTITIONS_HELD_METRIC == PARTITIONS_HELD_METRIC


@pytest.mark.parametrize(
    ("roles", "restored"),
    [
        ({"a": ("leader", "running"), "b": ("sync_standby", "streaming")}, True),  # back as the standby
        ({"a": ("sync_standby", "streaming"), "b": ("leader", "running")}, True),  # never lost (no fault injected)
        ({"a": ("leader", "running"), "b": ("replica", "streaming")}, False),  # not synchronous yet
        ({"a": ("leader", "running"), "b": ("replica", "starting")}, False),
    ],
)
def test_a_restored_site_is_back_when_it_is_either_half_of_the_pair(
    monkeypatch: pytest.MonkeyPatch, roles: dict[str, tuple[str, str]], restored: bool
) -> None:
    members = [probes.PatroniMember(name=site, role=role, state=state) for site, (role, state) in roles.items()]
    monkeypatch.setattr(probes, "patroni_cluster", lambda _topo: members)
    ok, _ = health.patroni_pair(load_topology(), member="b")()
    assert ok is restored
