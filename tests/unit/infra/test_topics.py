"""Where the lab's topics put their replicas and leaders."""

from __future__ import annotations

import tomllib
from typing import Any

import tomli_w

from infra.lab.topics import assignments_for, pair_assignments, replica_assignments
from infra.topology import DEFAULT_TOPOLOGY, Topology, parse_topology


def _topology(**kafka: Any) -> Topology:
    raw = tomllib.loads(DEFAULT_TOPOLOGY.read_text())
    raw["kafka"].update(kafka)
    return parse_topology(tomli_w.dumps(raw), "t.toml")


def test_the_data_sites_take_turns_leading_and_the_witness_never_leads() -> None:
    topo = _topology(partitions=6, replication_factor=3, min_insync_replicas=2, witness_replica=True)
    a, b, c = (topo.sites[n].node_id for n in ("a", "b", "c"))
    assignments = replica_assignments(topo)
    assert sorted(assignments) == list(range(6))
    assert [r[0] for r in assignments.values()] == [a, b, a, b, a, b]
    assert all(r[-1] == c and sorted(r) == sorted([a, b, c]) for r in assignments.values())


def test_without_the_witness_replica_both_data_sites_hold_every_partition() -> None:
    topo = _topology(
        partitions=4, replication_factor=2, min_insync_replicas=1, witness_replica=False, intake_replica_pairs=False
    )
    a, b, c = (topo.sites[n].node_id for n in ("a", "b", "c"))
    assignments = replica_assignments(topo)
    assert assignments == {0: [a, b], 1: [b, a], 2: [a, b], 3: [b, a]}
    assert all(c not in r for r in assignments.values())


def test_intake_pairs_put_every_partition_on_two_sites_and_each_pair_misses_one_site() -> None:
    topo = _topology(
        partitions=6, replication_factor=3, min_insync_replicas=2, witness_replica=True, intake_replica_pairs=True
    )
    a, b, c = (topo.sites[n].node_id for n in ("a", "b", "c"))
    assignments = pair_assignments(topo)
    assert assignments == {0: [a, b], 1: [b, c], 2: [a, c], 3: [b, a], 4: [b, c], 5: [a, c]}
    for lost in (a, b, c):  # whichever site is lost, one pair's partitions never had it
        assert any(lost not in r for r in assignments.values())
    assert all(r[0] != c for r in assignments.values()), "the witness leads only while its partner is away"


def test_only_the_intake_topic_is_on_pairs() -> None:
    topo = _topology(
        partitions=6, replication_factor=3, min_insync_replicas=2, witness_replica=True, intake_replica_pairs=True
    )
    assert assignments_for(topo, topo.kafka.intake_topic) == pair_assignments(topo)
    assert assignments_for(topo, topo.kafka.ticket_events_topic) == replica_assignments(topo)
    assert assignments_for(topo, topo.kafka.quarantine_topic) == replica_assignments(topo)
