"""Fixtures for the intake -> Kafka -> tickets path, exercised through the front door."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from core.kafka import connection_options
from core.settings import KafkaAuth
from infra import kafka_access
from infra.lab import probes
from infra.lab.database import app_dsn, front_door_dsn
from infra.lab.pki import front_door_tls
from infra.lab.render import Secrets, kafka_auth_of, kafka_passwords
from infra.topology import Topology
from tests.integration.conftest import wait_until

TICKET_WAIT_S = 90  # a ticket must appear well within this (also across a failover)


@dataclass
class Front:
    """The system as a client sees it: the front door's intake and ticket API."""

    topo: Topology
    secrets: Secrets
    http: httpx.Client  # anonymous: the intake channels
    desk: httpx.Client  # logged in as an L2 engineer: the ticket API

    @property
    def intake(self) -> str:
        return self.topo.front_door_url("intake")

    @property
    def tickets(self) -> str:
        return fd_tickets(self.topo)

    def site_intake(self, site: str) -> str:
        return self.topo.site_url(site, "intake")

    def post(self, channel: str, body: Any = None, *, base: str | None = None, **kw: Any) -> httpx.Response:
        return self.http.post(f"{base or self.intake}/v1/intake/{channel}", json=body, **kw)

    def ticket(self, code: str, timeout: float = TICKET_WAIT_S) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            try:
                r = self.desk.get(f"{self.tickets}/v1/tickets/{code}")
            except httpx.TransportError:
                return None
            return r.json() if r.status_code == 200 else None

        return wait_until(f"ticket {code} visible via the API", probe, timeout)

    def events(self, code: str) -> list[dict[str, Any]]:
        r = self.desk.get(f"{self.tickets}/v1/tickets/{code}/events")
        r.raise_for_status()
        return r.json()

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        dsn = app_dsn(self.topo, self.secrets.app)
        with psycopg.connect(dsn) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []

    def schema_sql(self, statement: str) -> None:
        """A schema change, as the schema owner (the services' role may not make one)."""
        db = self.topo.database
        with psycopg.connect(front_door_dsn(self.topo, db.owner_user, self.secrets.schema_owner, db.name)) as conn:
            conn.execute(statement)

    def kafka_options(self, program: str | None = None) -> dict[str, Any]:
        """aiokafka options of a client as `program`'s principal (default: the operators')."""
        principal = kafka_access.SERVICE_PRINCIPALS[program] if program else kafka_access.OPS
        auth = kafka_auth_of(self.topo, principal, kafka_passwords(self.secrets)[principal])
        return connection_options(KafkaAuth.model_validate(auth))

    def intake_offsets(self) -> int:
        """Sum of the intake topic's end offsets: grows by one per produced event."""
        # The partitions from the cluster's description: since aiokafka 0.14 a consumer's
        # partitions_for_topic answered None here, and the sum was always 0.
        meta = probes.kafka_metadata(self.topo)
        assert meta is not None, "Kafka's metadata"
        tps = [TopicPartition(self.topo.kafka.intake_topic, p) for p in meta.leaders_of(self.topo.kafka.intake_topic)]
        assert tps, "the intake topic's partitions"

        async def read() -> int:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.topo.kafka_bootstrap(), request_timeout_ms=10_000, **self.kafka_options()
            )
            await consumer.start()
            try:
                ends = await consumer.end_offsets(tps)
                return sum(ends.values())
            finally:
                await consumer.stop()

        return asyncio.run(read())


@pytest.fixture(scope="session")
def front(lab: Topology, secrets: Secrets) -> Iterator[Front]:
    tls = front_door_tls(lab)  # the front door serves HTTPS with a certificate of the lab CA
    with httpx.Client(timeout=30, verify=tls) as http, httpx.Client(timeout=30, verify=tls) as desk:
        desk.headers["Authorization"] = f"Bearer {login(http, fd_tickets(lab), DESK_AGENT, secrets.agent_password)}"
        yield Front(lab, secrets, http, desk)


DESK_AGENT = "chi.le"  # a demo L2 network engineer (infra/lab/demo_agents.py)


def fd_tickets(topo: Topology) -> str:
    return topo.front_door_url("tickets")


def login(http: httpx.Client, base: str, agent: str, password: str) -> str:
    r = http.post(f"{base}/v1/agents/login", json={"agent_id": agent, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


@pytest.fixture
def unique() -> Callable[[str], str]:
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:12]}"
