"""The lab's Kafka topics: created once, replicated over both data sites."""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from core.kafka import connection_options
from infra.lab import secrets as lab_secrets
from infra.topology import Topology


def topic_configs(topo: Topology) -> dict[str, str]:
    return {
        "min.insync.replicas": str(topo.kafka.min_insync_replicas),
        "unclean.leader.election.enable": "false",
    }


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
