"""The lab's Kafka topics: created once, replicated over both data sites."""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from infra.topology import Topology


def topic_configs(topo: Topology) -> dict[str, str]:
    return {
        "min.insync.replicas": str(topo.kafka.min_insync_replicas),
        "unclean.leader.election.enable": "false",
    }


async def _ensure_topics(topo: Topology) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=topo.kafka_bootstrap(), request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [topo.kafka.intake_topic, topo.kafka.ticket_events_topic]
        missing = [t for t in wanted if t not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(t, topo.kafka.partitions, topo.kafka.replication_factor, topic_configs=topic_configs(topo))
                    for t in missing
                ]
            )
        return missing
    finally:
        await admin.close()


def ensure_topics(topo: Topology) -> list[str]:
    """Create the intake and ticket-event topics if missing; return those created."""
    return asyncio.run(_ensure_topics(topo))
