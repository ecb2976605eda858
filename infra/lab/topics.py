"""The lab's Kafka topics: created once, replicated over both data sites (and the witness, when it
keeps a replica), led by the data sites only."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from core.kafka import connection_options
from infra.lab import secrets as lab_secrets
from infra.lab.errors import LabError
from infra.topology import Topology


def topic_configs(topo: Topology) -> dict[str, str]:
    return {
        "min.insync.replicas": str(topo.kafka.min_insync_replicas),
        "unclean.leader.election.enable": "false",
    }


def replica_assignments(topo: Topology) -> dict[int, list[int]]:
    """Each partition's replicas, preferred leader first: the data sites take turns leading, the
    witness's copy comes last so it never leads while a data site's in-sync replica can (Kafka
    moves leaders back to the preferred replica by itself)."""
    data = [topo.sites[n].node_id for n in topo.data_sites]
    others = [topo.sites[n].node_id for n in topo.kafka_broker_sites if n not in topo.data_sites]
    rf = topo.kafka.replication_factor
    assignments = {}
    for p in range(topo.kafka.partitions):
        rotated = data[p % len(data) :] + data[: p % len(data)]
        assignments[p] = (rotated + others)[:rf]
    return assignments


def pair_assignments(topo: Topology) -> dict[int, list[int]]:
    """The intake topic over the three pairs of broker sites (`kafka.intake_replica_pairs`):
    partition p on pair p mod 3 (a+b, b+c, c+a), a data site first so the witness leads only while
    its partner is away; a+b's partitions take turns between a and b."""
    a, b = (topo.sites[n].node_id for n in topo.data_sites)
    c = topo.sites[topo.witness_site].node_id
    assignments = {}
    for p in range(topo.kafka.partitions):
        pair = p % 3
        if pair == 0:
            assignments[p] = [a, b] if (p // 3) % 2 == 0 else [b, a]
        else:
            assignments[p] = [b, c] if pair == 1 else [a, c]
    return assignments


def assignments_for(topo: Topology, topic: str) -> dict[int, list[int]]:
    if topic == topo.kafka.intake_topic and topo.kafka.intake_replica_pairs:
        return pair_assignments(topo)
    return replica_assignments(topo)


async def _ensure_topics(topo: Topology) -> list[str]:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=topo.kafka_bootstrap(),
        request_timeout_ms=10_000,
        **connection_options(lab_secrets.kafka_auth(topo)),
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [topo.kafka.intake_topic, topo.kafka.ticket_events_topic, topo.kafka.quarantine_topic]
        missing = [t for t in wanted if t not in existing]
        present = [t for t in wanted if t in existing]
        if present:
            _refuse_another_layout(topo, await admin.describe_topics(present))
        if missing:
            await admin.create_topics(
                [
                    NewTopic(t, -1, -1, replica_assignments=assignments_for(topo, t), topic_configs=topic_configs(topo))
                    for t in missing
                ]
            )
        return missing
    finally:
        await admin.close()


def _refuse_another_layout(topo: Topology, described: list[Any]) -> None:
    """A lab made with another number of replicas than the topology now asks for would silently
    keep them (fewer: less durable; the intake topic on three replicas where it should be on pairs:
    no lane to hedge onto)."""
    for topic in described:
        partitions = topic.get("partitions") or []
        wanted = len(next(iter(assignments_for(topo, topic["topic"]).values())))
        counts = {len(p["replicas"]) for p in partitions}
        if counts and counts != {wanted}:
            raise LabError(
                f"topic {topic['topic']} has {'/'.join(map(str, sorted(counts)))} replicas per partition, the "
                f"topology asks for {wanted}; run `ccdr lab down --purge`, then `ccdr lab up`"
            )


@retry(
    retry=retry_if_exception_type(KafkaError),
    wait=wait_fixed(1),
    stop=stop_after_delay(60),
    reraise=True,
)
def ensure_topics(topo: Topology) -> list[str]:
    """Create the intake and ticket-event topics if missing; return those created.

    Retried: a broker can be registered with the controller yet not accept connections for a
    moment (NodeNotReadyError), most often while the site's services start beside it.
    """
    return asyncio.run(_ensure_topics(topo))
