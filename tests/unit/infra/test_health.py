"""The lab's wait for the ticket workers' consumer group to settle (probe answers stubbed)."""

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
