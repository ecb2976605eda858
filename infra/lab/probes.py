"""Read-only probes of the lab's components through their own public interfaces.

ZooKeeper four-letter words, Kafka's admin protocol and metadata-quorum tool, Patroni's REST
API and HAProxy's stats socket. Each probe returns None/empty for "unreachable" rather than
raising, so status and health waits can report every component at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import logging
import re
import socket
import ssl
import subprocess
from pathlib import Path

import httpx
import psycopg
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel

from core.kafka import connection_options
from core.settings import KafkaAuth
from infra.lab import secrets as lab_secrets
from infra.lab.layout import LabLayout
from infra.lab.pki import ca_file, ops_tools_config, verifying_context, zookeeper_context, zookeeper_tls
from infra.lab.render import PATRONI_REST_USER
from infra.topology import Topology

log = logging.getLogger(__name__)
# Each probe must answer fast even when a peer is frozen or partitioned (dropped packets).
PROBE_TIMEOUT_S = 2.0
# The ticket worker's gauge (core.tickets.kafka.consumer.PARTITIONS_HELD; a unit test keeps the
# names equal): the lab reads it from outside, as drills do, without importing the worker.
PARTITIONS_HELD_METRIC = "ccdr_tickets_partitions_held"


class PatroniMember(BaseModel):
    name: str
    role: str  # leader | sync_standby | replica
    state: str  # running | streaming | starting | stopped ...
    timeline: int | None = None
    lag_bytes: int | None = None


class PartitionState(BaseModel):
    topic: str
    partition: int
    leader: int
    replicas: list[int]
    isr: list[int]


class KafkaMetadata(BaseModel):
    brokers: list[int]
    partitions: list[PartitionState]

    @property
    def under_replicated(self) -> list[PartitionState]:
        return [p for p in self.partitions if len(p.isr) < len(p.replicas)]

    @property
    def led_elsewhere(self) -> list[PartitionState]:
        """Partitions not led by their preferred replica (the first of their replicas)."""
        return [p for p in self.partitions if p.replicas and p.leader != p.replicas[0]]

    def leaders_of(self, topic: str) -> dict[int, int]:
        return {p.partition: p.leader for p in self.partitions if p.topic == topic}


class KafkaQuorum(BaseModel):
    leader_id: int | None
    voters: list[int]


def zookeeper_mode_of(topo: Topology, site: str) -> str | None:
    """One lab site's ZooKeeper mode, asked as the operators (over TLS when the lab has its CA)."""
    tls = zookeeper_context(zookeeper_tls(topo))
    return zookeeper_mode(str(topo.sites[site].address), topo.ports.zookeeper_client, tls)


def zookeeper_mode(address: str, port: int, tls: ssl.SSLContext | None = None) -> str | None:
    """'leader' | 'follower' | 'standalone', or None when the node does not serve. With `tls`, over
    the TLS port, presenting that context's certificate (ZooKeeper requires one)."""
    try:
        with socket.create_connection((address, port), timeout=PROBE_TIMEOUT_S) as raw:
            conn = tls.wrap_socket(raw, server_hostname=address) if tls is not None else raw
            conn.settimeout(PROBE_TIMEOUT_S)
            conn.sendall(b"srvr")
            data = b""
            while chunk := conn.recv(4096):
                data += chunk
    except OSError:  # ssl.SSLError is one
        return None
    match = re.search(rb"^Mode: (\w+)", data, re.MULTILINE)
    return match.group(1).decode() if match else None


def trusting(ca: str | None) -> ssl.SSLContext | bool:
    """What httpx verifies a server with: the system's CAs, or only `ca` (read once per file)."""
    return verifying_context(ca) if ca else True


def patroni_members(api_url: str, ca: str | None = None) -> list[PatroniMember] | None:
    """The cluster as one Patroni node's REST API (`https://host:8008`, its certificate checked
    against `ca`) sees it; None: no answer."""
    try:
        body = httpx.get(f"{api_url}/cluster", timeout=PROBE_TIMEOUT_S, verify=trusting(ca)).json()
    except (httpx.HTTPError, ValueError):
        return None
    members = []
    for m in body.get("members", []):
        lag = m.get("lag")
        members.append(
            PatroniMember(
                name=m["name"],
                role=m["role"],
                state=m["state"],
                timeline=m.get("timeline"),
                lag_bytes=lag if isinstance(lag, int) else None,
            )
        )
    return members


def patroni_cluster(topo: Topology) -> list[PatroniMember] | None:
    """The cluster as Patroni sees it, asked of any reachable data site."""
    for site in topo.data_sites:
        members = patroni_members(patroni_api(topo, site), str(ca_file(topo)))
        if members is not None:
            return members
    return None


def patroni_api(topo: Topology, site: str) -> str:
    return f"https://{topo.sites[site].address}:{topo.ports.patroni_rest}"


def patroni_reload(topo: Topology, password: str) -> list[str]:
    """Ask every reachable Patroni to re-read its configuration (pg_hba, TLS, parameters); the
    sites that accepted. A lab made by an older version picks up a re-rendered patroni.yml so (over
    plain HTTP and without credentials, as that version served its API)."""
    accepted = []
    for site in topo.data_sites:
        address = f"{topo.sites[site].address}:{topo.ports.patroni_rest}"
        try:
            r = httpx.post(
                f"{patroni_api(topo, site)}/reload",
                timeout=PROBE_TIMEOUT_S,
                verify=trusting(str(ca_file(topo))),
                auth=(PATRONI_REST_USER, password),
            )
        except httpx.HTTPError:
            try:
                r = httpx.post(f"http://{address}/reload", timeout=PROBE_TIMEOUT_S)
            except httpx.HTTPError:
                continue
        if r.status_code in (200, 202):
            accepted.append(site)
    return accepted


def postgres_tls_refusal(dsn: str) -> str | None:
    """None when `dsn` (with sslmode=verify-full) connects over verified TLS; otherwise why not."""
    try:
        with psycopg.connect(dsn, connect_timeout=max(1, int(PROBE_TIMEOUT_S))) as conn:
            return None if conn.pgconn.ssl_in_use else "connected without TLS"
    except psycopg.Error as exc:
        return str(exc).splitlines()[0]


def patroni_role(topo: Topology, site: str) -> str | None:
    """The node's own view: 'primary' | 'replica' | None (unreachable)."""
    try:
        body = httpx.get(
            f"{patroni_api(topo, site)}/patroni", timeout=PROBE_TIMEOUT_S, verify=trusting(str(ca_file(topo)))
        ).json()
    except (httpx.HTTPError, ValueError):
        return None
    role = body.get("role")
    return str(role) if role else None


async def kafka_metadata_at(bootstrap: list[str], auth: KafkaAuth | None) -> KafkaMetadata:
    """Brokers and partitions (of the topics `auth` may describe) as the cluster at `bootstrap`
    describes them (raises if it does not answer)."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        request_timeout_ms=int(PROBE_TIMEOUT_S * 2000),
        metadata_max_age_ms=1000,
        **connection_options(auth),
    )
    await asyncio.wait_for(admin.start(), timeout=PROBE_TIMEOUT_S * 3)
    try:
        cluster = await admin.describe_cluster()
        topics = await admin.describe_topics()
    finally:
        await admin.close()
    partitions = [
        PartitionState(
            topic=t["topic"], partition=p["partition"], leader=p["leader"], replicas=p["replicas"], isr=p["isr"]
        )
        for t in topics
        for p in t["partitions"]
    ]
    brokers = sorted(b["node_id"] for b in cluster["brokers"])
    return KafkaMetadata(brokers=brokers, partitions=partitions)


def kafka_metadata(topo: Topology) -> KafkaMetadata | None:
    try:
        return asyncio.run(kafka_metadata_at(topo.kafka_bootstrap(), lab_secrets.kafka_auth(topo)))
    except Exception as exc:  # noqa: BLE001 - any client failure means "unreachable" for a probe
        log.debug("kafka metadata probe failed: %s", exc)
        return None


def kafka_quorum_command(layout: LabLayout, client_config: Path | None) -> list[str]:
    """`kafka-metadata-quorum describe --status` against every controller, as `client_config` says
    (the controllers take mutual TLS only: the operators' config by default)."""
    topo = layout.topology
    controllers = ",".join(f"{s.address}:{topo.ports.kafka_controller}" for _, s in sorted(topo.sites.items()))
    return [
        "java",
        "-Xmx128m",
        "-XX:TieredStopAtLevel=1",
        "-Dlog4j2.level=ERROR",
        "-cp",
        f"{layout.kafka_libs}/*",
        "org.apache.kafka.tools.MetadataQuorumCommand",
        "--bootstrap-controller",
        controllers,
        *(["--command-config", str(client_config)] if client_config is not None else []),
        "describe",
        "--status",
    ]


def kafka_quorum(layout: LabLayout) -> KafkaQuorum | None:
    """The KRaft controller quorum (active controller and voters), via Kafka's own tool."""
    tools = ops_tools_config(layout.topology)
    command = kafka_quorum_command(layout, tools if tools.exists() else None)
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    leader = re.search(r"^LeaderId:\s+(-?\d+)", out, re.MULTILINE)
    voters_line = re.search(r"^CurrentVoters:\s+(.*)$", out, re.MULTILINE)
    if not leader or not voters_line:
        return None
    voters = sorted(int(v) for v in re.findall(r'"id":\s*(\d+)', voters_line.group(1)))
    leader_id = int(leader.group(1))
    return KafkaQuorum(leader_id=leader_id if leader_id >= 0 else None, voters=voters)


Samples = dict[str, list[tuple[dict[str, str], float]]]


def parse_metrics(text: str) -> Samples:
    """Prometheus text -> sample name -> [(labels, value)]."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append((dict(s.labels), float(s.value)))
    return out


def scrape_metrics(
    url: str, timeout_s: float = PROBE_TIMEOUT_S, verify: ssl.SSLContext | bool = True
) -> Samples | None:
    """A service's /metrics, parsed; None when it does not answer."""
    try:
        response = httpx.get(url, timeout=timeout_s, verify=verify)
        response.raise_for_status()
    except httpx.HTTPError:
        return None
    return parse_metrics(response.text)


def metric_total(samples: Samples, name: str) -> float | None:
    """The sum of a sample over its labels; None when the service does not export it."""
    found = samples.get(name)
    return sum(v for _, v in found) if found else None


def ticket_worker_partitions(topo: Topology, site: str) -> int | None:
    """How many intake partitions the consumer group gave this site's ticket worker (its /metrics);
    None when it does not answer."""
    samples = scrape_metrics(f"http://{topo.sites[site].address}:{topo.ports.ticket_worker_http}/metrics")
    held = None if samples is None else metric_total(samples, PARTITIONS_HELD_METRIC)
    return None if held is None else int(held)


def haproxy_stats(stats_socket: Path) -> list[dict[str, str]]:
    """HAProxy's `show stat` rows (one per frontend, backend and server); [] if it does not answer."""
    if not stats_socket.exists():
        return []
    try:
        with contextlib.closing(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)) as conn:
            conn.settimeout(PROBE_TIMEOUT_S)
            conn.connect(str(stats_socket))
            conn.sendall(b"show stat\n")
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
    except OSError:
        return []
    return list(csv.DictReader(io.StringIO(data.decode().lstrip("# "))))


def haproxy_servers(stats_socket: Path) -> dict[str, dict[str, str]]:
    """proxy -> server -> status (UP/DOWN/...), from HAProxy's stats socket."""
    result: dict[str, dict[str, str]] = {}
    for row in haproxy_stats(stats_socket):
        if row.get("svname") in ("FRONTEND", "BACKEND", None):
            continue
        result.setdefault(row["pxname"], {})[row["svname"]] = row["status"]
    return result
