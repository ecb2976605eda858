"""Make the running brokers' users and ACLs exactly what infra.kafka_access says.

With confluent-kafka's admin client (aiokafka's has neither SCRAM users nor ACLs), as the
operators' super user. Users are normally created when the log is formatted (`--add-scram`);
this adds any missing since. ACLs not in the plan are deleted, so a renamed topic or a narrowed
grant leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from infra import kafka_access
from infra.kafka_access import Grant
from infra.lab.pki import ca_file
from infra.topology import Topology

SCRAM_ITERATIONS = 8192  # Kafka's default for SCRAM-SHA-512 credentials it is given a password for
ADMIN_TIMEOUT_S = 15.0
_RESOURCES = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP, "cluster": ResourceType.BROKER}


@dataclass(frozen=True)
class Applied:
    users_added: list[str]
    acls_added: int
    acls_removed: int


def admin_client(topo: Topology, ops_password: str) -> AdminClient:
    return AdminClient(
        {
            "bootstrap.servers": ",".join(topo.kafka_bootstrap()),
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": kafka_access.SCRAM_MECHANISM,
            "sasl.username": kafka_access.OPS,
            "sasl.password": ops_password,
            "ssl.ca.location": str(ca_file(topo)),
            "ssl.endpoint.identification.algorithm": "https",
        }
    )


def binding_of(grant: Grant) -> AclBinding:
    return AclBinding(
        _RESOURCES[grant.resource],
        grant.name,
        ResourcePatternType.LITERAL,
        f"User:{grant.principal}",
        "*",
        AclOperation[grant.operation],
        AclPermissionType.ALLOW,
    )


def existing_bindings(admin: AdminClient) -> list[AclBinding]:
    # None matches any name, principal and host (the library's stubs type them as str only).
    anything: Any = None
    any_acl = AclBindingFilter(
        ResourceType.ANY, anything, ResourcePatternType.ANY, anything, anything, AclOperation.ANY, AclPermissionType.ANY
    )
    return list(admin.describe_acls(any_acl, request_timeout=ADMIN_TIMEOUT_S).result())


def _missing_users(admin: AdminClient, wanted: list[str]) -> list[str]:
    every_user = admin.describe_user_scram_credentials(request_timeout=ADMIN_TIMEOUT_S)
    assert not isinstance(every_user, dict)  # one future for all users when none are named
    described = every_user.result()
    have = {user for user, d in described.items() if d.scram_credential_infos}
    return [u for u in wanted if u not in have]


@retry(retry=retry_if_exception_type(KafkaException), wait=wait_fixed(1), stop=stop_after_delay(60), reraise=True)
def apply(topo: Topology, passwords: dict[str, str]) -> Applied:
    """Users (any missing one created with its password) and ACLs (exactly the plan)."""
    admin = admin_client(topo, passwords[kafka_access.OPS])
    missing = _missing_users(admin, kafka_access.users())
    if missing:
        info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
        upserts: list[UserScramCredentialAlteration] = [
            UserScramCredentialUpsertion(u, info, passwords[u].encode()) for u in missing
        ]
        for future in admin.alter_user_scram_credentials(upserts, request_timeout=ADMIN_TIMEOUT_S).values():
            future.result()
    wanted = {binding_of(g) for g in kafka_access.service_grants(topo.kafka, topo.tickets.consumer_group)}
    have = set(existing_bindings(admin))
    extra = [b for b in have if b not in wanted]
    added = [b for b in wanted if b not in have]
    if added:
        for future in admin.create_acls(added, request_timeout=ADMIN_TIMEOUT_S).values():
            future.result()
    if extra:
        filters = [
            AclBindingFilter(
                b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation, b.permission_type
            )
            for b in extra
        ]
        for future in admin.delete_acls(filters, request_timeout=ADMIN_TIMEOUT_S).values():
            future.result()
    return Applied(missing, len(added), len(extra))
