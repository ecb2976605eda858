"""A production topology: three sites of real hosts, each host with its roles.

The lab runs one of everything per site in a network namespace; production spreads the same
components over several hosts per site. What the services and the components are tuned with
(timers, Kafka, intake, tickets, failover, agents) is the lab topology's own sections, so a setting
measured in the lab is the one deployed. Pure: parsing and validation only."""

from __future__ import annotations

import ipaddress
import tomllib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.settings import AgentSettings, FailoverSettings, IntakeSettings, TicketSettings, first_error
from infra.topology import (
    ZOOKEEPER_DECIDERS,
    BackupSettings,
    ChatSettings,
    DatabaseSettings,
    FrontDoor,
    HAProxyTimers,
    KafkaSettings,
    KafkaTimers,
    MailSettings,
    PatroniTimers,
    Ports,
    TopologyError,
    ZooKeeperTimers,
    check_outbox_within_idle_timeout,
    check_patroni_leader_session,
    checked_site_names,
)

Role = Literal["zookeeper", "kafka-controller", "kafka-broker", "postgres", "ccdr", "haproxy", "backup-repo"]
DATA_ONLY_ROLES: frozenset[str] = frozenset({"kafka-broker", "postgres", "ccdr"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Host(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")  # a DNS label: certificates and unit names use it
    address: ipaddress.IPv4Address
    node_id: int = Field(ge=1, le=255)  # ZooKeeper's myid and Kafka's node.id
    roles: frozenset[Role] = Field(min_length=1)


class ProductionSite(_Strict):
    role: Literal["data", "witness"]
    network: ipaddress.IPv4Network  # the site's hosts; PostgreSQL accepts clients from the data networks only
    hosts: list[Host] = Field(min_length=1)


class Paths(_Strict):
    """Where things live on every host (the packages' own places on Debian)."""

    etc: Path  # configuration; secrets under etc/secrets (0700)
    data: Path
    logs: Path
    python: Path  # ccdr's virtual environment's interpreter
    patroni: Path
    pg_bin_dir: Path
    java: Path
    kafka_libs: Path  # Kafka's jars
    zookeeper_classpath: list[Path] = Field(min_length=1)
    haproxy: Path
    pgbackrest: Path  # Debian's pgbackrest (database hosts and the backup repository host)


class ProductionTimers(_Strict):
    zookeeper: ZooKeeperTimers
    kafka: KafkaTimers
    patroni: PatroniTimers
    haproxy: HAProxyTimers


class ProductionMail(MailSettings):
    """The organisation's mail relay, which takes the desk's notices (STARTTLS, each ccdr host known
    to it by its certificate: its client-certificate table lists them)."""

    relay_host: str = Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.-]+$")
    relay_port: int = Field(ge=1, le=65535)


class ProductionChat(ChatSettings):
    """The chat platforms' public APIs (their certificates checked against the system's trust store)."""

    slack_api_url: str = Field(pattern=r"^https://")
    zalo_api_url: str = Field(pattern=r"^https://")
    teams_service_url: str = Field(pattern=r"^https://")  # the Bot Framework connector of the tenant's region
    teams_token_url: str = Field(pattern=r"^https://")


class ProductionTopology(_Strict):
    """The lab topology's tuning sections (ports, front door, Kafka, database, services), as
    measured there, plus the hosts of each site and where things live on them."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,40}$")
    public_base_url: str = Field(pattern=r"^https://")  # clients reach the desk over TLS only
    paths: Paths
    sites: dict[str, ProductionSite]
    ports: Ports
    front_door: FrontDoor
    kafka: KafkaSettings
    database: DatabaseSettings
    intake: IntakeSettings
    tickets: TicketSettings
    failover: FailoverSettings
    agents: AgentSettings
    backup: BackupSettings
    mail: ProductionMail
    chat: ProductionChat
    timers: ProductionTimers

    @field_validator("sites")
    @classmethod
    def _site_names(cls, sites: dict[str, ProductionSite]) -> dict[str, ProductionSite]:
        return checked_site_names(sites)

    @model_validator(mode="after")
    def _deployable(self) -> ProductionTopology:
        data = self.data_sites
        if len(data) != 2 or len(self.sites) != 3:
            raise ValueError("sites: two data sites and one witness site are required (the witness breaks ties)")
        hosts = self.hosts
        for field in ("name", "address", "node_id"):
            seen = Counter(str(getattr(h, field)) for _, h in hosts)
            twice = sorted(v for v, n in seen.items() if n > 1)
            if twice:
                raise ValueError(f"sites: hosts share {field} {twice[0]}")
        for site, host in hosts:
            if host.address not in self.sites[site].network:
                raise ValueError(
                    f"sites.{site}: host {host.name} ({host.address}) is outside {self.sites[site].network}"
                )
            # The witness may keep Kafka's third replica (kafka.witness_replica), never data of its own.
            data_only = DATA_ONLY_ROLES - ({"kafka-broker"} if self.kafka.witness_replica else set())
            if self.sites[site].role == "witness" and host.roles & data_only:
                wrong = ", ".join(sorted(host.roles & data_only))
                raise ValueError(f"sites.{site}: the witness host {host.name} cannot run {wrong}")
        for site in data:
            held = set().union(*(h.roles for h in self.sites[site].hosts))
            missing = sorted((DATA_ONLY_ROLES | {"haproxy"}) - held)
            if missing:
                raise ValueError(f"sites.{site}: a data site needs hosts for {', '.join(missing)}")
        check_outbox_within_idle_timeout(self.tickets, self.timers.patroni)
        check_patroni_leader_session(self.timers.zookeeper, self.timers.patroni)
        repositories = self.with_role("backup-repo")
        if len(repositories) != 1 or self.sites[repositories[0][0]].role != "witness":
            raise ValueError(
                "sites: exactly one host at the witness site must have the backup-repo role (the backups "
                f"must outlive either data site; found {', '.join(h.name for _, h in repositories) or 'none'})"
            )
        _quorum_survives_a_site(self, "zookeeper")
        _quorum_survives_a_site(self, "kafka-controller")
        brokers = len(self.with_role("kafka-broker"))
        if self.kafka.replication_factor > brokers:
            raise ValueError(f"kafka.replication_factor: {self.kafka.replication_factor} exceeds the {brokers} brokers")
        return self

    # -- derived views ----------------------------------------------------------------
    @property
    def data_sites(self) -> list[str]:
        return sorted(n for n, s in self.sites.items() if s.role == "data")

    @property
    def hosts(self) -> list[tuple[str, Host]]:
        return [(site, h) for site in sorted(self.sites) for h in self.sites[site].hosts]

    def with_role(self, role: str) -> list[tuple[str, Host]]:
        return [(site, h) for site, h in self.hosts if role in h.roles]

    def zookeeper_connect(self, first: Sequence[str] = ()) -> str:
        """The ensemble's client addresses, the hosts of the sites in `first` first (tried in order)."""
        order = {site: i for i, site in enumerate(first)}
        hosts = sorted(self.with_role("zookeeper"), key=lambda sh: order.get(sh[0], len(order)))
        return ",".join(f"{h.address}:{self.ports.zookeeper_client}" for _, h in hosts)

    @property
    def witness_site(self) -> str:
        return next(n for n, s in self.sites.items() if s.role == "witness")

    def zookeeper_preference(self, site: str, program: str) -> list[str]:
        """As in the lab (infra.topology.Topology.zookeeper_preference)."""
        return [self.witness_site, site] if program in ZOOKEEPER_DECIDERS else [site, self.witness_site]

    def kafka_bootstrap(self) -> list[str]:
        return [f"{h.address}:{self.ports.kafka_broker}" for _, h in self.with_role("kafka-broker")]

    def kafka_voters(self) -> str:
        voters = self.with_role("kafka-controller")
        return ",".join(f"{h.node_id}@{h.address}:{self.ports.kafka_controller}" for _, h in voters)


def _quorum_survives_a_site(topo: ProductionTopology, role: str) -> None:
    """An odd ensemble of at least three, where no site holds a majority: losing any one site
    leaves a quorum (the reason for the witness)."""
    members = topo.with_role(role)
    if len(members) < 3 or len(members) % 2 == 0:
        raise ValueError(f"sites: {role} needs an odd number of hosts, at least three (found {len(members)})")
    per_site = Counter(site for site, _ in members)
    majority = len(members) // 2 + 1
    for site, n in per_site.items():
        if len(members) - n < majority:
            raise ValueError(
                f"sites: losing site {site} would leave {len(members) - n} of {len(members)} {role} hosts, no quorum"
            )


def load_production_topology(path: Path) -> ProductionTopology:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TopologyError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise TopologyError(f"{path}: not valid TOML: {exc}") from None
    try:
        return ProductionTopology.model_validate(raw)
    except ValidationError as exc:
        raise TopologyError(f"{path}: {first_error(exc)}") from None
