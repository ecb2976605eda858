"""The replication benchmark compares the layouts it says it compares."""

from __future__ import annotations

from infra.topology import load_topology
from loadtests.bench_replication import LAYOUTS, _assignments


def test_two_replicas_stay_on_the_data_sites_and_three_add_the_witness_last() -> None:
    topo = load_topology()
    a, b, c = (topo.sites[n].node_id for n in ("a", "b", "c"))
    two, three = (_assignments(topo, layout.replicas) for layout in LAYOUTS)
    assert all(sorted(r) == [a, b] for r in two.values())
    assert all(r[-1] == c and sorted(r) == [a, b, c] for r in three.values())
    assert [r[0] for r in two.values()] == [r[0] for r in three.values()], "the same leaders in both"
