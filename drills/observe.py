"""What the drill reads from the outside after recovery: PostgreSQL rows and the Kafka topic.

Read-only, through the front door's primary port and the brokers' public listeners, as any
auditor with read access could. The canary's operations are found by their subject.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Collection, Mapping
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from core.kafka import connection_options
from drills.canary import SUBJECT_PREFIX, canary_body, key_of_subject
from drills.model import Observed, TicketSeen
from infra.lab import secrets as lab_secrets
from infra.topology import Topology

KAFKA_TIMEOUT_MS = 10_000


def tickets_for(dsn: str, drill_id: str) -> dict[str, tuple[TicketSeen, ...]]:
    """Every ticket whose subject names one of this drill's canary keys."""
    pattern = f"{SUBJECT_PREFIX}{drill_id}-%"
    found: dict[str, list[TicketSeen]] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT subject, code, extract(epoch FROM created_at) FROM tickets WHERE subject LIKE %s", (pattern,)
        ).fetchall()
    for subject, code, created in rows:
        key = key_of_subject(subject)
        if key is not None:
            found.setdefault(key, []).append(TicketSeen(code=code, created=float(created)))
    return {k: tuple(sorted(v, key=lambda t: t.created)) for k, v in found.items()}


async def intake_partitions(topo: Topology) -> list[int]:
    """The intake topic's partitions, as the cluster describes them. (Not the consumer's
    `partitions_for_topic` after `topics()`: aiokafka 0.14 keeps that metadata apart, and the
    answer was None, so the checker read no partition and found no intake in Kafka.)"""
    topic = topo.kafka.intake_topic
    admin = AIOKafkaAdminClient(
        bootstrap_servers=topo.kafka_bootstrap(),
        request_timeout_ms=KAFKA_TIMEOUT_MS,
        **connection_options(lab_secrets.kafka_auth(topo)),
    )
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    for entry in described:
        if entry.get("topic") == topic and not entry.get("error_code") and entry.get("partitions"):
            return sorted(int(p["partition"]) for p in entry["partitions"])
    raise RuntimeError(f"Kafka does not describe the intake topic {topic}")


async def end_offsets(topo: Topology) -> dict[int, int]:
    parts = await intake_partitions(topo)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=topo.kafka_bootstrap(),
        request_timeout_ms=KAFKA_TIMEOUT_MS,
        **connection_options(lab_secrets.kafka_auth(topo)),
    )
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topo.kafka.intake_topic, p) for p in parts])
        return {tp.partition: off for tp, off in ends.items()}
    finally:
        await consumer.stop()


async def keys_in_topic(topo: Topology, drill_id: str, since: dict[int, int]) -> dict[str, tuple[int, int]]:
    """Canary keys of this drill among the intake events appended after the offsets `since`, with
    the (partition, offset) of each one's last event."""
    topic = topo.kafka.intake_topic
    prefix = f"{SUBJECT_PREFIX}{drill_id}-"
    parts = await intake_partitions(topo)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=topo.kafka_bootstrap(),
        enable_auto_commit=False,
        request_timeout_ms=KAFKA_TIMEOUT_MS,
        isolation_level="read_committed",
        **connection_options(lab_secrets.kafka_auth(topo)),
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in parts]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, since.get(tp.partition, 0))
        keys: dict[str, tuple[int, int]] = {}
        remaining = {tp for tp in tps if (await consumer.position(tp)) < ends[tp]}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=2000)
            for records in batch.values():
                for rec in records:
                    subject = _subject(rec.value)
                    if subject and subject.startswith(prefix):
                        # the last copy of an intake sent twice: a replay from past the first still brings it
                        keys[subject.removeprefix(SUBJECT_PREFIX)] = (rec.partition, rec.offset)
            remaining = {tp for tp in remaining if (await consumer.position(tp)) < ends[tp]}
        return keys
    finally:
        await consumer.stop()


def _subject(value: bytes | None) -> str | None:
    if not value:
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return None
    subject = data.get("subject") if isinstance(data, dict) else None
    return subject if isinstance(subject, str) else None


def observe(
    topo: Topology, dsn: str, drill_id: str, since: dict[int, int], expected: Collection[str], timeout_s: float
) -> Observed:
    """Read tickets until every key in `expected` has one or `timeout_s` passes (the consumer may
    still be catching up after a failover), then read the topic once."""
    deadline = time.monotonic() + timeout_s
    while True:
        tickets = tickets_for(dsn, drill_id)
        if all(k in tickets for k in expected) or time.monotonic() > deadline:
            break
        time.sleep(2)
    positions = asyncio.run(keys_in_topic(topo, drill_id, since))
    return Observed(tickets=tickets, in_kafka=frozenset(positions), kafka_positions=positions)


def damaged_canary_tickets(dsn: str, drill_id: str) -> tuple[str, ...]:
    """The codes of this drill's canary tickets whose contact or description is not what the canary
    sent (a bad-deployment drill's damage, or what its repair left)."""
    pattern = f"{SUBJECT_PREFIX}{drill_id}-%"
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute("SELECT code, subject, contact, description FROM tickets WHERE subject LIKE %s", (pattern,))
        damaged = []
        for code, subject, contact, description in rows.fetchall():
            key = key_of_subject(subject)
            sent = canary_body(drill_id, key) if key is not None else {}
            given = {k: v for k, v in (contact or {}).items() if v is not None}  # the model stores empty fields
            if given != sent.get("contact") or description != sent.get("description"):
                damaged.append(str(code))
    return tuple(sorted(damaged))


def action_outputs(journal: Mapping[str, Any]) -> dict[str, Any]:
    """What each activity of the experiment returned, by its provider's function name (the method's
    and the rollbacks'); activities that failed or returned nothing are left out."""
    found: dict[str, Any] = {}
    for run in [*(journal.get("run") or []), *(journal.get("rollbacks") or [])]:
        func = (run.get("activity") or {}).get("provider", {}).get("func")
        if func and run.get("status") == "succeeded" and run.get("output") is not None:
            found[func] = run["output"]
    return found
