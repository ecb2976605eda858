"""Lab-only credentials: random per lab, generated once, kept in the state dir (0600)."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import secrets
import uuid

from pydantic import SecretStr

from core.agents.domain.tokens import new_signing_seed
from core.settings import KafkaAuth
from infra.kafka_access import OPS
from infra.lab.layout import LabLayout
from infra.lab.pki import ca_file
from infra.lab.render import Secrets
from infra.topology import Topology


def _new(field: str) -> str:
    if field == "teams_hmac":
        return base64.b64encode(secrets.token_bytes(32)).decode()
    if field == "session_key":
        return new_signing_seed()
    if field == "teams_app_id":
        return str(uuid.uuid4())
    if field == "status_link_key":
        return secrets.token_urlsafe(32)
    if field == "zalo_app_id":
        return str(secrets.randbelow(10**18))
    return secrets.token_urlsafe(24)


def load_or_create(layout: LabLayout) -> Secrets:
    """Existing values are kept; fields added by a newer version are generated and saved."""
    path = layout.secrets_file
    known = json.loads(path.read_text()) if path.exists() else {}
    values = {f.name: known.get(f.name) or _new(f.name) for f in dataclasses.fields(Secrets)}
    if values != known:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(values, out)
        os.replace(tmp, path)
    return Secrets(**values)


ZOOKEEPER_USER = "ccdr"  # the digest user ccdr's znodes belong to


def zookeeper_auth(topo: Topology) -> tuple[str, str] | None:
    """The lab's ZooKeeper credentials for tools that start from the topology (None: no lab here)."""
    path = LabLayout(topo).secrets_file
    if not path.exists():
        return None
    return ZOOKEEPER_USER, str(json.loads(path.read_text())["zookeeper_ccdr"])


def kafka_auth(topo: Topology) -> KafkaAuth | None:
    """The operators' Kafka credentials (a super user) for tools that start from the topology:
    the lab itself, drills, benchmarks, the quarantine CLI. None: no lab here."""
    path = LabLayout(topo).secrets_file
    if not path.exists():
        return None
    password = str(json.loads(path.read_text())["kafka_ops"])
    return KafkaAuth(username=OPS, password=SecretStr(password), ca_file=str(ca_file(topo)))


def load(layout: LabLayout) -> Secrets:
    return Secrets(**json.loads(layout.secrets_file.read_text()))
