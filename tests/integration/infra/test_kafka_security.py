"""Kafka's links and principals: clients authenticate with SCRAM over verified TLS, each service may
do only its job, and the controllers take only certificates of the lab CA."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAuthorizationFailedError
from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

from infra import kafka_access
from infra.lab import kafka_security, probes
from infra.lab.layout import LabLayout
from infra.lab.pki import ca_file, ops_tools_config
from infra.lab.render import kafka_passwords
from tests.integration.conftest import wait_until
from tests.integration.core.conftest import Front

TIMEOUT_MS = 5_000
ACL_PROPAGATION_S = 15
INVALID_CREDENTIALS = "invalid credentials with SASL mechanism SCRAM-SHA-512"


def _send(front: Front, topic: str, **options: Any) -> None:
    async def send() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=front.topo.kafka_bootstrap(),
            acks="all",
            request_timeout_ms=TIMEOUT_MS,
            metadata_max_age_ms=TIMEOUT_MS,
            **options,
        )
        try:
            async with asyncio.timeout(20):
                await producer.start()
                await producer.send_and_wait(topic, b"{}", key=b"kafka-security-probe")
        finally:
            await producer.stop()

    asyncio.run(send())


def test_a_client_without_tls_and_credentials_cannot_publish_an_intake_event(front: Front) -> None:
    with pytest.raises((KafkaConnectionError, KafkaError, TimeoutError)):
        _send(front, front.topo.kafka.intake_topic)  # PLAINTEXT, as anyone on the network would


def _refused_logins(front: Front) -> int:
    """Brokers' log lines of SCRAM logins refused for invalid credentials (aiokafka only says it
    could not bootstrap)."""
    layout = LabLayout(front.topo)
    return sum(
        layout.site(s).log_of("kafka").read_text(errors="replace").count(INVALID_CREDENTIALS)
        for s in front.topo.data_sites
    )


def test_a_wrong_password_is_refused(front: Front) -> None:
    before = _refused_logins(front)
    options = front.kafka_options("intake")
    options["sasl_plain_password"] = "not-the-password"
    with pytest.raises(KafkaConnectionError):
        _send(front, front.topo.kafka.intake_topic, **options)
    assert _refused_logins(front) > before


def test_a_broker_whose_certificate_the_lab_ca_did_not_sign_is_refused(front: Front) -> None:
    options = front.kafka_options("intake")
    options["ssl_context"] = ssl.create_default_context()  # the system's CAs, not the lab's
    with pytest.raises((KafkaConnectionError, KafkaError, TimeoutError)):
        _send(front, front.topo.kafka.intake_topic, **options)


def test_each_service_may_do_its_job_and_nothing_else(front: Front) -> None:
    k = front.topo.kafka
    _send(front, k.intake_topic, **front.kafka_options("intake"))  # its job
    # A stolen intake credential cannot forge a ticket event; the notifier cannot inject an intake.
    for program, topic in (
        ("intake", k.ticket_events_topic),
        ("notifier", k.intake_topic),
        ("tickets", k.intake_topic),
    ):
        with pytest.raises(TopicAuthorizationFailedError):
            _send(front, topic, **front.kafka_options(program))


def test_the_brokers_acls_are_exactly_the_plan_and_a_stray_one_is_removed(front: Front) -> None:
    passwords = kafka_passwords(front.secrets)
    admin = kafka_security.admin_client(front.topo, passwords[kafka_access.OPS])
    stray = AclBinding(
        ResourceType.TOPIC,
        front.topo.kafka.ticket_events_topic,
        ResourcePatternType.LITERAL,
        f"User:{kafka_access.SERVICE_PRINCIPALS['intake']}",
        "*",
        AclOperation.WRITE,
        AclPermissionType.ALLOW,
    )
    for future in admin.create_acls([stray]).values():
        future.result()
    applied = kafka_security.apply(front.topo, passwords)
    assert applied.acls_removed == 1 and applied.acls_added == 0
    plan = {
        kafka_security.binding_of(g)
        for g in kafka_access.service_grants(front.topo.kafka, front.topo.tickets.consumer_group)
    }
    # The controller commits the deletion; each broker's view follows within a metadata round.
    wait_until(
        "the brokers' ACLs equal the plan",
        lambda: True if set(kafka_security.existing_bindings(admin)) == plan else None,
        ACL_PROPAGATION_S,
    )


def _quorum(front: Front, client_config: Path) -> subprocess.CompletedProcess[str]:
    command = probes.kafka_quorum_command(LabLayout(front.topo), client_config)
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_the_controllers_take_only_certificates_of_the_lab_ca(front: Front, tmp_path: Path) -> None:
    assert "LeaderId" in _quorum(front, ops_tools_config(front.topo)).stdout
    # TLS with the right CA but no client certificate: the controllers refuse the handshake.
    no_certificate = tmp_path / "no-certificate.properties"
    no_certificate.write_text(
        f"security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location={ca_file(front.topo)}\n"
        "request.timeout.ms=5000\ndefault.api.timeout.ms=10000\n"
    )
    refused = _quorum(front, no_certificate)
    assert refused.returncode != 0 and "LeaderId" not in refused.stdout
