"""Who may do what on Kafka: the principals and ACLs ccdr's brokers enforce (pure: no client).

Every client authenticates with SASL/SCRAM over TLS as its own principal. The services get the
least their job needs, literally named: intake may only write the intake topic, so a stolen
intake credential cannot forge a ticket event; the notifier may only read ticket events; and so
on. The brokers talk to each other as `ccdr-broker`, and the operators' tools (the lab, drills,
benchmarks, the quarantine CLI) as `ccdr-ops`; both are super users, like a database's owner.
Controllers authenticate brokers and each other by certificate (mutual TLS on the controller
listener: KRaft cannot check SCRAM there, its credentials live in the log the controllers serve).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from infra.topology import KafkaSettings

SCRAM_MECHANISM = "SCRAM-SHA-512"
BROKER = "ccdr-broker"
OPS = "ccdr-ops"
# One principal per supervised service program (ccdr serve <program>).
SERVICE_PRINCIPALS: dict[str, str] = {
    "intake": "ccdr-intake",
    "tickets": "ccdr-tickets",
    "ticket-worker": "ccdr-ticket-worker",
    "notifier": "ccdr-notifier",
    "failover": "ccdr-failover",  # checks brokers by TCP only: authenticates, may do nothing
}
NOTIFIER_GROUP = "ccdr-notifier"  # core.notify.service.GROUP (kept equal by a unit test)
# Certificates' subjects are "CN=<name>,O=ccdr lab" (RFC 2253 order): the principal is the CN.
PRINCIPAL_MAPPING_RULES = "RULE:^CN=([^,]+),.*$/$1/,DEFAULT"

Resource = Literal["topic", "group", "cluster"]
Operation = Literal["READ", "WRITE", "DESCRIBE"]


@dataclass(frozen=True, order=True)
class Grant:
    """ALLOW `operation` on the literally named `resource` to `User:principal`, from any host."""

    principal: str
    resource: Resource
    name: str
    operation: Operation


def secret_name(principal: str) -> str:
    """Where a principal's SCRAM password is kept: ccdr-ticket-worker -> kafka_ticket_worker."""
    return "kafka_" + principal.removeprefix("ccdr-").replace("-", "_")


def users() -> list[str]:
    """Every SCRAM user the brokers know, super users first."""
    return [BROKER, OPS, *SERVICE_PRINCIPALS.values()]


def super_users(certificate_names: list[str]) -> list[str]:
    """`super.users` entries: the SCRAM super users and every node's certificate name."""
    return [f"User:{p}" for p in (BROKER, OPS, *certificate_names)]


def service_grants(k: KafkaSettings, consumer_group: str) -> list[Grant]:
    """The services' ACLs, from the topology's topic names and the ticket workers' group."""
    intake, worker = SERVICE_PRINCIPALS["intake"], SERVICE_PRINCIPALS["ticket-worker"]
    api, notifier = SERVICE_PRINCIPALS["tickets"], SERVICE_PRINCIPALS["notifier"]
    grants = [
        Grant(intake, "topic", k.intake_topic, "WRITE"),
        Grant(intake, "topic", k.intake_topic, "DESCRIBE"),
        Grant(worker, "topic", k.intake_topic, "READ"),
        Grant(worker, "topic", k.intake_topic, "DESCRIBE"),
        Grant(worker, "group", consumer_group, "READ"),
        Grant(worker, "topic", k.quarantine_topic, "WRITE"),
        Grant(worker, "topic", k.quarantine_topic, "DESCRIBE"),
        Grant(worker, "topic", k.ticket_events_topic, "WRITE"),
        Grant(worker, "topic", k.ticket_events_topic, "DESCRIBE"),
        Grant(notifier, "topic", k.ticket_events_topic, "READ"),
        Grant(notifier, "topic", k.ticket_events_topic, "DESCRIBE"),
        Grant(notifier, "group", NOTIFIER_GROUP, "READ"),
        # The SRE status page (served by the ticket API) shows partitions and their leaders.
        *(Grant(api, "topic", t, "DESCRIBE") for t in (k.intake_topic, k.ticket_events_topic, k.quarantine_topic)),
    ]
    return sorted(grants)
