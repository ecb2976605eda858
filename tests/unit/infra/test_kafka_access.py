"""The Kafka access plan: each service gets what its job needs and nothing of another's."""

from __future__ import annotations

from core.notify.service import GROUP
from infra import kafka_access
from infra.topology import load_topology

TOPO = load_topology()


def _allowed(program: str) -> set[tuple[str, str, str]]:
    principal = kafka_access.SERVICE_PRINCIPALS[program]
    return {
        (g.resource, g.name, g.operation)
        for g in kafka_access.service_grants(TOPO.kafka, TOPO.tickets.consumer_group)
        if g.principal == principal
    }


def test_intake_may_only_write_and_describe_the_intake_topic() -> None:
    assert _allowed("intake") == {
        ("topic", TOPO.kafka.intake_topic, "WRITE"),
        ("topic", TOPO.kafka.intake_topic, "DESCRIBE"),
    }


def test_only_the_ticket_worker_writes_ticket_events_and_only_intake_writes_intakes() -> None:
    writers: dict[str, set[str]] = {}
    for g in kafka_access.service_grants(TOPO.kafka, TOPO.tickets.consumer_group):
        if g.operation == "WRITE":
            writers.setdefault(g.name, set()).add(g.principal)
    assert writers == {
        TOPO.kafka.intake_topic: {"ccdr-intake"},
        TOPO.kafka.ticket_events_topic: {"ccdr-ticket-worker"},
        TOPO.kafka.quarantine_topic: {"ccdr-ticket-worker"},
    }


def test_consumers_read_their_own_topic_and_group() -> None:
    assert ("group", TOPO.tickets.consumer_group, "READ") in _allowed("ticket-worker")
    assert ("topic", TOPO.kafka.intake_topic, "READ") in _allowed("ticket-worker")
    assert _allowed("notifier") == {
        ("topic", TOPO.kafka.ticket_events_topic, "READ"),
        ("topic", TOPO.kafka.ticket_events_topic, "DESCRIBE"),
        ("group", GROUP, "READ"),
    }
    assert _allowed("failover") == set()  # it checks brokers by TCP only


def test_the_notifiers_group_is_the_one_the_notifier_joins() -> None:
    assert kafka_access.NOTIFIER_GROUP == GROUP


def test_super_users_are_the_brokers_the_operators_and_the_nodes_certificates() -> None:
    assert kafka_access.super_users(["site-a.ccdr.lab"]) == [
        "User:ccdr-broker",
        "User:ccdr-ops",
        "User:site-a.ccdr.lab",
    ]
    assert not set(kafka_access.SERVICE_PRINCIPALS.values()) & {kafka_access.BROKER, kafka_access.OPS}
