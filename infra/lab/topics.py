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
            _refuse_fewer_replicas(topo, await admin.describe_topics(present))
        if missing:
            assignments = replica_assignments(topo)
            await admin.create_topics(
                [
                    NewTopic(t, -1, -1, replica_assignments=assignments, topic_configs=topic_configs(topo))
                    for t in missing
                ]
            )
        return missing
    finally:
        await admin.close()


def _refuse_fewer_replicas(topo: Topology, described: list[Any]) -> None:
    """A lab made with fewer replicas than the topology now asks for would silently keep them."""
    for topic in described:
        partitions = topic.get("partitions") or []
        fewest = min((len(p["replicas"]) for p in partitions), default=topo.kafka.replication_factor)
        if fewest < topo.kafka.replication_factor:
            raise LabError(
                f"topic {topic['topic']} has {fewest} replicas, the topology asks for "
                f"{topo.kafka.replication_factor}; run `ccdr lab down --purge`, then `ccdr lab up`"
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
