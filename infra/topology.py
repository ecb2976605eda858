"""The topology: sites, addresses, ports and timers, loaded from one TOML file.

Pure: parsing and validation only, no I/O beyond reading the file in `load_topology`.
Every other part of ccdr (the lab, the services, the drills) gets its addresses from here.
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

# The services' settings are the domain's own (core.settings); the topology carries them.
from core.settings import AgentSettings, FailoverSettings, IntakeSettings, TicketSettings, first_error

DEFAULT_TOPOLOGY = Path(__file__).with_name("topology.toml")

Port = int  # constrained per field below with Field(ge=1, le=65535)
T = TypeVar("T")


class TopologyError(ValueError):
    """The topology file is missing, unparsable or invalid; the message names the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LabSettings(_Strict):
    bridge: str = Field(min_length=1, max_length=15)  # Linux interface names are at most 15 bytes
    subnet: ipaddress.IPv4Network
    bridge_address: ipaddress.IPv4Address
    state_dir: Path
    install_dir: Path
    kafka_version: str = Field(pattern=r"^4\.\d+\.\d+$")

    @model_validator(mode="after")
    def _bridge_in_subnet(self) -> LabSettings:
        if self.bridge_address not in self.subnet:
            raise ValueError(f"bridge_address {self.bridge_address} is outside subnet {self.subnet}")
        return self


class Site(_Strict):
    role: Literal["data", "witness"]
    address: ipaddress.IPv4Address
    namespace: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    node_id: int = Field(ge=1, le=255)
    # A Kafka controller of its own (a process apart from the broker, as in production), under this
    # node id; None: the site's one Kafka process is its controller too (the witness). A dedicated
    # controller can be restarted, and so hand the quorum's leadership on, without moving any
    # partition (failover.controller_steward).
    kafka_controller_id: int | None = Field(default=None, ge=1, le=255)

    @property
    def controller_id(self) -> int:
        return self.kafka_controller_id if self.kafka_controller_id is not None else self.node_id


class Ports(_Strict):
    zookeeper_client: Port = Field(ge=1, le=65535)
    zookeeper_peer: Port = Field(ge=1, le=65535)
    zookeeper_election: Port = Field(ge=1, le=65535)
    kafka_broker: Port = Field(ge=1, le=65535)
    kafka_controller: Port = Field(ge=1, le=65535)
    postgres: Port = Field(ge=1, le=65535)
    patroni_rest: Port = Field(ge=1, le=65535)
    intake_http: Port = Field(ge=1, le=65535)
    intake_smtp: Port = Field(ge=1, le=65535)
    tickets_http: Port = Field(ge=1, le=65535)
    ticket_worker_http: Port = Field(ge=1, le=65535)
    intake_health: Port = Field(ge=1, le=65535)
    tickets_health: Port = Field(ge=1, le=65535)
    backup_tls: Port = Field(ge=1, le=65535)  # pgBackRest's TLS server (repository and database hosts)

    @model_validator(mode="after")
    def _distinct(self) -> Ports:
        _refuse_shared_ports(self.model_dump())
        return self


class IntakeAdmission(_Strict):
    """The front door's share of admission control for HTTP intake. Each site's intake gets at most
    `server_maxconn` requests at once (and `urgent_server_maxconn` more for urgent ones, their own
    lane); the rest wait in HAProxy's queue, which costs a proxy almost nothing, and whatever has
    waited its lane's queue time-out is answered 503 with Retry-After there and then. Python never
    sees more than it can answer in time, so a storm is refused fast instead of timing out slowly.

    A full queue means overload or a stall, and only the arrival rate tells them apart: while
    requests arrive faster than `site_capacity_per_s` times the sites up, measured over
    `arrivals_window_ms` (overload), non-urgent ones wait at most `queue_timeout_ms`; otherwise
    (a site promoting its database, a worker catching up) they wait up to `stall_queue_timeout_ms`,
    so a short stall is ridden out rather than shown to clients as refusals."""

    server_maxconn: int = Field(ge=1, le=10_000)
    urgent_server_maxconn: int = Field(ge=1, le=10_000)
    site_capacity_per_s: int = Field(ge=1, le=1_000_000)  # one site's intake, from `ccdr bench`
    arrivals_window_ms: int = Field(ge=50, le=10_000)  # the arrival rate is measured over this
    queue_timeout_ms: int = Field(ge=10, le=60_000)
    stall_queue_timeout_ms: int = Field(ge=10, le=60_000)
    urgent_queue_timeout_ms: int = Field(ge=10, le=60_000)
    retry_after_s: int = Field(ge=1, le=60)

    @model_validator(mode="after")
    def _a_stall_is_waited_out_longer_than_overload(self) -> IntakeAdmission:
        if self.stall_queue_timeout_ms < self.queue_timeout_ms:
            raise ValueError("stall_queue_timeout_ms must be at least queue_timeout_ms")
        return self


class FrontDoor(_Strict):
    address: ipaddress.IPv4Address
    postgres_primary: Port = Field(ge=1, le=65535)
    postgres_replica: Port = Field(ge=1, le=65535)
    stats: Port = Field(ge=1, le=65535)
    intake_http: Port = Field(ge=1, le=65535)
    intake_smtp: Port = Field(ge=1, le=65535)
    tickets_http: Port = Field(ge=1, le=65535)
    max_connections: int = Field(ge=100, le=1_000_000)  # beyond it HAProxy stops accepting: a storm hangs
    intake_admission: IntakeAdmission

    @model_validator(mode="after")
    def _distinct(self) -> FrontDoor:
        _refuse_shared_ports(self.model_dump(exclude={"address", "max_connections", "intake_admission"}))
        return self


class KafkaSettings(_Strict):
    intake_topic: str = Field(pattern=r"^[A-Za-z0-9._-]{1,249}$")
    ticket_events_topic: str = Field(pattern=r"^[A-Za-z0-9._-]{1,249}$")
    quarantine_topic: str = Field(pattern=r"^[A-Za-z0-9._-]{1,249}$")
    partitions: int = Field(ge=1, le=1000)
    replication_factor: int = Field(ge=1, le=16)
    min_insync_replicas: int = Field(ge=1, le=16)
    # The witness keeps a third copy of every partition (never its leader): with
    # min_insync_replicas 2 an acknowledged intake is on two sites even while the other data
    # site's replica is out of sync, so losing a site's disks loses nothing (docs/failover.md).
    witness_replica: bool = False
    # The intake topic alone is laid out over the three pairs of broker sites (a+b, b+c, c+a), two
    # copies each, min_insync_replicas 2: a site's loss leaves the pair without it untouched, and
    # intake hedges onto it (core/intake/kafka/routing.py) instead of waiting for the dead broker's
    # fence. The other topics keep replication_factor.
    intake_replica_pairs: bool = False
    broker_heap_mb: int = Field(ge=256, le=8192)
    controller_heap_mb: int = Field(ge=128, le=4096)

    @model_validator(mode="after")
    def _isr_within_rf(self) -> KafkaSettings:
        if self.min_insync_replicas > self.replication_factor:
            raise ValueError(
                f"min_insync_replicas {self.min_insync_replicas} exceeds "
                f"replication_factor {self.replication_factor}: every write would be refused"
            )
        return self

    @model_validator(mode="after")
    def _pairs_need_the_witness(self) -> KafkaSettings:
        if self.intake_replica_pairs and not self.witness_replica:
            raise ValueError("intake_replica_pairs needs witness_replica: three broker sites make three pairs")
        if self.intake_replica_pairs and self.min_insync_replicas != 2:
            raise ValueError(
                f"intake_replica_pairs needs min_insync_replicas 2 (got {self.min_insync_replicas}): "
                "an intake is acknowledged on both sites of its pair"
            )
        if self.intake_replica_pairs and self.partitions % 3:
            raise ValueError(
                f"intake_replica_pairs needs partitions in threes, one share per pair (got {self.partitions})"
            )
        return self


class DatabaseSettings(_Strict):
    @model_validator(mode="after")
    def _owner_is_not_the_application(self) -> DatabaseSettings:
        if self.owner_user == self.app_user:
            raise ValueError("database.owner_user must differ from app_user: the application must not own the schema")
        return self

    name: str = Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    app_user: str = Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    # Owns the schema and runs the migrations; the application role only reads and writes rows
    # (and on the drill ledger only reads and appends).
    owner_user: str = Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    # A service's pool gives a broken connection up after this and reconnects on the next demand,
    # instead of backing off ever longer (1, 2, 4, 8 s ...) while the primary fails over.
    reconnect_s: float = Field(ge=0.5, le=300)
    # A pooled connection must answer a ping within this when it is handed out, or it is closed and
    # another tried. A frozen server's kernel still accepts our bytes, so neither TCP nor the pool
    # notices; psycopg's own cancellation of a stuck query waits up to 10 s more for that server.
    check_timeout_s: float = Field(gt=0, le=30)


class MailSettings(_Strict):
    """How notices leave (core.notify): through the organisation's relay, SMTP with STARTTLS, the
    sender known to it by its certificate."""

    sender: str = Field(min_length=3, max_length=200, pattern=r"^[^\r\n]*<[^<>@\s]+@[^<>@\s]+>$")
    send_timeout_s: float = Field(gt=0, le=300)  # one SMTP conversation with the relay
    retry_s: float = Field(gt=0, le=300)  # an undelivered notice is tried again after this long
    max_per_address_per_hour: int = Field(ge=1, le=100_000)  # notices to one customer address (flooding)
    customer_timezone: str = Field(min_length=1)  # times in customers' mail and on their status page


class LabMail(MailSettings):
    """The lab runs the relay itself, at `relay_site` (infra.lab.mail_relay)."""

    relay_site: str
    relay_port: Port = Field(ge=1, le=65535)


class ChatSettings(_Strict):
    """Replies to chat customers through the platforms' APIs (core.notify.chat)."""

    send_timeout_s: float = Field(gt=0, le=300)  # one call to a platform's API
    teams_scope: str = Field(min_length=1)  # what the Teams bot asks its token for


class LabChat(ChatSettings):
    """The lab cannot reach the platforms: a stand-in answers for them at `standin_site`
    (infra.lab.chat_standin), over HTTPS with that site's certificate."""

    standin_site: str
    standin_port: Port = Field(ge=1, le=65535)


class BackupSettings(_Strict):
    """Backups of the Patroni cluster with pgBackRest, to a repository at the witness site: every
    WAL segment archived as the primary closes it, full and incremental backups on demand or by
    schedule, and a restore into a scratch cluster to check them (infra.lab.backup)."""

    stanza: str = Field(pattern=r"^[a-z][a-z0-9-]{0,40}$")
    retention_full: int = Field(ge=1, le=100)  # full backups kept (with what depends on them)
    wal_switch_s: int = Field(ge=1, le=3600)  # PostgreSQL's archive_timeout: the most a restore can miss
    archive_timeout_s: int = Field(ge=1, le=3600)  # pgBackRest waits this long for a segment to arrive
    restore_port: Port = Field(ge=1, le=65535)  # the scratch cluster a restore starts at the witness
    restore_timeout_s: float = Field(ge=10, le=86_400)  # restore, replay to the target and promote
    # When production's repository host takes them (systemd OnCalendar; the lab takes them on demand).
    full_schedule: str = Field(pattern=r"^[A-Za-z0-9*:,./ ~-]{1,100}$")
    incremental_schedule: str = Field(pattern=r"^[A-Za-z0-9*:,./ ~-]{1,100}$")


class DrillSettings(_Strict):
    """The drill suite's measuring instruments and default objectives (docs/drills.md)."""

    archive_dir: Path  # reports and ledger files
    # The key that signs reports is never kept with what it signs: whoever could rewrite the
    # archive could otherwise re-sign it. Verifiers trust `trusted_public_key`, their own copy.
    signing_key: Path
    trusted_public_key: Path
    canary_rate_per_s: float = Field(gt=0, le=200)  # open loop: sent on schedule, whatever the answers
    canary_deadline_s: float = Field(gt=0, le=120)  # a client's retry budget for one intake
    canary_attempt_timeout_s: float = Field(gt=0, le=60)
    canary_retry_s: float = Field(gt=0, le=10)  # pause between attempts of one intake
    probe_interval_s: float = Field(ge=0.1, le=10)  # agent login, database primary, SLA-clock leader
    consecutive_successes: int = Field(ge=1, le=100)  # K: recovery is the first of K successes in a row
    ticket_freshness_s: float = Field(gt=0, le=600)  # a ticket created this soon after the ack counts as on time
    first_attempt_s: float = Field(gt=0, le=60)  # an intake slower than this on its first try was hurt
    settle_s: float = Field(ge=0, le=600)  # canary keeps running this long after the lab converged
    converge_timeout_s: float = Field(ge=10, le=3600)
    check_timeout_s: float = Field(ge=10, le=3600)  # how long the checker waits for lagging tickets
    rpo_max_lost: int = Field(ge=0)
    availability_min: float = Field(ge=0, le=1)
    rto_s: dict[str, float] = Field(default_factory=dict)  # capability -> target
    abort_rto_s: float = Field(gt=0, le=3600)  # roll back when intake is not back within this
    data_recovery_s: float = Field(default=120, gt=0)  # data drills: copy restored, damage repaired
    # The re-login surge (`ccdr drill run --relogin N`): the lost site's agents sign in again this long
    # after the fault, spread over this many seconds, each sign-in one attempt with this deadline.
    relogin_after_s: float = Field(default=2, ge=0)
    relogin_spread_s: float = Field(default=5, ge=0)
    relogin_deadline_s: float = Field(default=30, gt=0)
    relogin_retry_s: float = Field(default=1, gt=0)  # a refused agent presses "sign in" again after this

    @model_validator(mode="after")
    def _keys_outside_the_archive(self) -> DrillSettings:
        for name in ("signing_key", "trusted_public_key"):
            if getattr(self, name).resolve().is_relative_to(self.archive_dir.resolve()):
                raise ValueError(f"drills.{name} must not be inside drills.archive_dir (a key kept with what it signs)")
        return self

    @model_validator(mode="after")
    def _attempt_inside_deadline(self) -> DrillSettings:
        if self.canary_attempt_timeout_s > self.canary_deadline_s:
            raise ValueError(
                f"drills: canary_attempt_timeout_s ({self.canary_attempt_timeout_s}) exceeds "
                f"canary_deadline_s ({self.canary_deadline_s})"
            )
        return self


class ZooKeeperTimers(_Strict):
    tick_time_ms: int = Field(ge=100, le=10_000)
    init_limit: int = Field(ge=2, le=100)
    sync_limit: int = Field(ge=2, le=100)
    min_session_timeout_ms: int = Field(ge=200, le=600_000)
    max_session_timeout_ms: int = Field(ge=1_000, le=600_000)
    heap_mb: int = Field(ge=64, le=4096)

    @model_validator(mode="after")
    def _session_bounds(self) -> ZooKeeperTimers:
        if self.min_session_timeout_ms < 2 * self.tick_time_ms:
            raise ValueError("min_session_timeout_ms must be at least 2 x tick_time_ms (ZooKeeper's floor)")
        if self.max_session_timeout_ms <= self.min_session_timeout_ms:
            raise ValueError("max_session_timeout_ms must exceed min_session_timeout_ms")
        return self


class KafkaTimers(_Strict):
    broker_session_timeout_ms: int = Field(ge=1_000, le=120_000)
    broker_heartbeat_interval_ms: int = Field(ge=100, le=60_000)
    replica_lag_time_max_ms: int = Field(ge=1_000, le=120_000)
    replica_fetch_wait_max_ms: int = Field(ge=10, le=500)
    controller_election_timeout_ms: int = Field(ge=100, le=60_000)
    # Above the 500 ms a KRaft leader holds a voter's fetch, or every quiet spell is an election.
    controller_fetch_timeout_ms: int = Field(ge=600, le=120_000)
    leader_imbalance_check_interval_s: int = Field(ge=5, le=3_600)

    @model_validator(mode="after")
    def _heartbeat_below_session(self) -> KafkaTimers:
        if self.broker_heartbeat_interval_ms * 2 > self.broker_session_timeout_ms:
            raise ValueError(
                "broker_heartbeat_interval_ms must be at most half of broker_session_timeout_ms, "
                "or one late heartbeat fences a healthy broker"
            )
        return self


ZOOKEEPER_DECIDERS = frozenset({"failover", "step-aside"})


def check_outbox_within_idle_timeout(tickets: TicketSettings, patroni: PatroniTimers) -> None:
    """The outbox relay waits on Kafka inside its transaction: PostgreSQL must not end it first
    (a relay whose session was ended that way crashed the ticket worker in partition-a-b)."""
    if tickets.outbox_publish_timeout_s >= patroni.idle_in_transaction_timeout_s:
        raise ValueError(
            f"tickets.outbox_publish_timeout_s: {tickets.outbox_publish_timeout_s} s is not below "
            f"timers.patroni.idle_in_transaction_timeout_s ({patroni.idle_in_transaction_timeout_s} s)"
        )


def patroni_leader_session_s(zk: ZooKeeperTimers, patroni: PatroniTimers) -> float:
    """How long Patroni's leader lock outlives a dead primary. With ZooKeeper the lock is an
    ephemeral znode of Patroni's session, and the servers grant at most max_session_timeout_ms
    of the ttl Patroni asks for (Patroni refuses a ttl below 20 s, a floor set for DCSs whose
    TTLs are clock-based; ZooKeeper's session expiry is decided by its quorum's leader)."""
    return min(patroni.ttl * 1000, zk.max_session_timeout_ms) / 1000


def patroni_watchdog_margin_s(zk: ZooKeeperTimers, patroni: PatroniTimers) -> int:
    """Patroni arms a host's watchdog for ttl - safety_margin: reaching below the granted session,
    a hung primary is reset before its lock can be taken."""
    return patroni.ttl - int(patroni_leader_session_s(zk, patroni)) + 1


def check_patroni_leader_session(zk: ZooKeeperTimers, patroni: PatroniTimers) -> None:
    """The granted session must outlast what Patroni needs inside it: a cut-off primary's demotion,
    and Patroni's own rule (loop_wait + 2 x retry_timeout within the lock's life)."""
    session = patroni_leader_session_s(zk, patroni)
    if session <= patroni.demotion_bound_s():
        raise ValueError(
            f"timers.zookeeper.max_session_timeout_ms: Patroni's leader session would last {session:g} s, not "
            f"longer than a cut-off primary may take to demote ({patroni.demotion_bound_s()} s: read timeout, "
            "loop_wait, retry_timeout); the standby could be promoted while the old primary still serves"
        )
    if patroni.loop_wait + 2 * patroni.retry_timeout > session:
        raise ValueError(
            f"timers.patroni: loop_wait + 2 x retry_timeout ({patroni.loop_wait + 2 * patroni.retry_timeout} s) "
            f"exceeds the leader session ZooKeeper grants ({session:g} s, timers.zookeeper.max_session_timeout_ms)"
        )


class PatroniTimers(_Strict):
    # Patroni's own floors: ttl >= 20, loop_wait >= 1, retry_timeout >= 3.
    ttl: int = Field(ge=20, le=600)
    loop_wait: int = Field(ge=1, le=60)
    retry_timeout: int = Field(ge=3, le=120)
    maximum_lag_on_failover: int = Field(ge=0)
    # PostgreSQL ends a session idle inside a transaction this long (a client cut off mid-transaction
    # keeps its row locks otherwise): every transaction that waits on something else must be shorter.
    idle_in_transaction_timeout_s: int = Field(ge=1, le=3600)

    def demotion_bound_s(self) -> int:
        """How long a primary cut off from ZooKeeper may still act as one, at most: kazoo notices
        the silent connection after Patroni's read timeout (loop_wait - 2, at least 2 s), a cycle
        in progress ends, and reading the cluster fails after retry_timeout; then it demotes."""
        return max(self.loop_wait - 2, 2) + self.loop_wait + self.retry_timeout

    @model_validator(mode="after")
    def _patroni_rule(self) -> PatroniTimers:
        if self.loop_wait + 2 * self.retry_timeout > self.ttl:
            raise ValueError(
                f"loop_wait + 2 x retry_timeout ({self.loop_wait + 2 * self.retry_timeout}) "
                f"must not exceed ttl ({self.ttl}); Patroni refuses it"
            )
        return self


class HAProxyTimers(_Strict):
    check_interval_ms: int = Field(ge=100, le=60_000)
    fall: int = Field(ge=1, le=10)
    rise: int = Field(ge=1, le=10)
    connect_timeout_ms: int = Field(ge=100, le=60_000)
    check_timeout_ms: int = Field(ge=100, le=60_000)  # a health check's answer (a busy site answers late)
    # Intake's and the ticket API's checks: their health ports answer from a thread of their own,
    # never from a busy event loop, so they can be tight; after a failed one the next comes
    # fastinter_ms later.
    service_check_interval_ms: int = Field(ge=100, le=60_000)
    service_check_timeout_ms: int = Field(ge=100, le=60_000)
    service_fastinter_ms: int = Field(ge=100, le=60_000)


class LabTimers(_Strict):
    up_timeout_s: int = Field(ge=10, le=3600)
    restore_timeout_s: int = Field(ge=10, le=3600)


class Timers(_Strict):
    zookeeper: ZooKeeperTimers
    kafka: KafkaTimers
    patroni: PatroniTimers
    haproxy: HAProxyTimers
    lab: LabTimers


class Topology(_Strict):
    lab: LabSettings
    sites: dict[str, Site]
    ports: Ports
    # Where it was read from (not part of the topology itself): a drill hands it to its Chaos
    # Toolkit actions and probes so that they touch the lab it measures and no other.
    source: Path | None = Field(default=None, exclude=True)
    front_door: FrontDoor
    kafka: KafkaSettings
    database: DatabaseSettings
    intake: IntakeSettings
    tickets: TicketSettings
    failover: FailoverSettings
    agents: AgentSettings
    drills: DrillSettings
    backup: BackupSettings
    mail: LabMail
    chat: LabChat
    timers: Timers

    @field_validator("sites")
    @classmethod
    def _site_names(cls, sites: dict[str, Site]) -> dict[str, Site]:
        return checked_site_names(sites)

    @model_validator(mode="after")
    def _sites_consistent(self) -> Topology:
        data = [n for n, s in self.sites.items() if s.role == "data"]
        witnesses = [n for n, s in self.sites.items() if s.role == "witness"]
        if len(data) != 2:
            raise ValueError(f"sites: exactly two data sites are required, found {len(data)} ({', '.join(data)})")
        if len(witnesses) != 1:
            raise ValueError(
                f"sites: exactly one witness site is required, found {len(witnesses)}; "
                "without it losing one data site loses every quorum"
            )
        _refuse_duplicates({n: str(s.address) for n, s in self.sites.items()}, "address")
        _refuse_duplicates({n: s.namespace for n, s in self.sites.items()}, "namespace")
        _refuse_duplicates({n: str(s.node_id) for n, s in self.sites.items()}, "node_id")
        node_ids = {s.node_id: n for n, s in self.sites.items()}
        for name, site in sorted(self.sites.items()):
            if site.kafka_controller_id in node_ids:
                raise ValueError(
                    f"sites.{name}.kafka_controller_id: {site.kafka_controller_id} is site "
                    f"{node_ids[site.kafka_controller_id]}'s node_id (Kafka node ids are one space)"
                )
        _refuse_duplicates(
            {n: str(s.kafka_controller_id) for n, s in self.sites.items() if s.kafka_controller_id is not None},
            "kafka_controller_id",
        )
        if self.sites[witnesses[0]].kafka_controller_id is not None:
            raise ValueError(
                "sites: the witness's one Kafka process is its controller; kafka_controller_id is for data sites"
            )
        for name, site in self.sites.items():
            if site.address not in self.lab.subnet:
                raise ValueError(f"sites.{name}.address: {site.address} is outside the lab subnet {self.lab.subnet}")
            if site.address == self.lab.bridge_address:
                raise ValueError(f"sites.{name}.address: {site.address} is the bridge's own address")
        brokers = len(data) + (1 if self.kafka.witness_replica else 0)
        if self.kafka.replication_factor > brokers:
            raise ValueError(
                f"kafka.replication_factor: {self.kafka.replication_factor} exceeds "
                f"the {brokers} brokers (data sites{', witness' if self.kafka.witness_replica else ''})"
            )
        if self.intake.kafka_request_timeout_ms <= self.timers.kafka.broker_session_timeout_ms:
            raise ValueError(
                f"intake.kafka_request_timeout_ms: {self.intake.kafka_request_timeout_ms} is not above the broker "
                f"session timeout ({self.timers.kafka.broker_session_timeout_ms} ms); a send retried before a dead "
                "leader is fenced goes to that leader again"
            )
        check_outbox_within_idle_timeout(self.tickets, self.timers.patroni)
        zk = self.timers.zookeeper
        session_ms = self.failover.session_timeout_s * 1000
        if not zk.min_session_timeout_ms <= session_ms <= zk.max_session_timeout_ms:
            raise ValueError(
                f"failover.session_timeout_s: {self.failover.session_timeout_s} s is outside ZooKeeper's session "
                f"bounds ({zk.min_session_timeout_ms}-{zk.max_session_timeout_ms} ms); it would be silently changed"
            )
        if self.failover.op_timeout_s >= self.failover.session_timeout_s:
            raise ValueError("failover.op_timeout_s: must be below failover.session_timeout_s")
        if self.chat.standin_site not in self.sites:
            raise ValueError(f"chat.standin_site: {self.chat.standin_site!r} is not a site")
        if self.mail.relay_site not in self.sites:
            raise ValueError(
                f"mail.relay_site: {self.mail.relay_site!r} is not a site ({', '.join(sorted(self.sites))})"
            )
        for name, cold in self.failover.cold.items():
            if cold.active_site not in data:
                raise ValueError(
                    f"failover.cold.{name}.active_site: {cold.active_site!r} is not a data site ({', '.join(data)})"
                )
        check_patroni_leader_session(self.timers.zookeeper, self.timers.patroni)
        return self

    # -- derived views -------------------------------------------------------------
    @property
    def data_sites(self) -> list[str]:
        return sorted(n for n, s in self.sites.items() if s.role == "data")

    @property
    def witness_site(self) -> str:
        return next(n for n, s in self.sites.items() if s.role == "witness")

    @property
    def kafka_broker_sites(self) -> list[str]:
        """Sites that run a Kafka broker: the data sites, and the witness when it keeps a replica."""
        return self.data_sites + ([self.witness_site] if self.kafka.witness_replica else [])

    def site(self, name: str) -> Site:
        try:
            return self.sites[name]
        except KeyError:
            raise TopologyError(f"unknown site {name!r}; known: {', '.join(sorted(self.sites))}") from None

    def front_door_url(self, service: Literal["intake", "tickets"]) -> str:
        """Where clients reach intake or the ticket API: the front door, over HTTPS only."""
        fd = self.front_door
        return f"https://{fd.address}:{fd.intake_http if service == 'intake' else fd.tickets_http}"

    def site_url(self, site: str, service: Literal["intake", "tickets"]) -> str:
        """One data site's own intake or ticket API (HTTPS: the front door re-encrypts to it)."""
        port = self.ports.intake_http if service == "intake" else self.ports.tickets_http
        return f"https://{self.site(site).address}:{port}"

    def zookeeper_connect(self, first: Sequence[str] = ()) -> str:
        """The ensemble's client addresses, the sites in `first` first (clients try them in order)."""
        sites = sorted(self.sites, key=lambda n: (list(first).index(n) if n in first else len(first), n))
        return ",".join(f"{self.sites[n].address}:{self.ports.zookeeper_client}" for n in sites)

    def zookeeper_preference(self, site: str, program: str) -> list[str]:
        """Which ZooKeeper servers a program at `site` tries first. The deciders of a partition (the
        failover agent, the step-aside guard) go to the witness first: its server is on the quorum's
        side of any cut between the data sites, so their sessions never move in one. A session held
        through the other data site's server was seen only ~2.7 s after the cut of `partition-a-b`
        (the op timeout, then a reconnect), and the cut-off site waited that long for the peer's
        word. Everything else goes to its own site's server first (reads stay local)."""
        return [self.witness_site, site] if program in ZOOKEEPER_DECIDERS else [site, self.witness_site]

    def kafka_bootstrap(self) -> list[str]:
        return [f"{self.sites[n].address}:{self.ports.kafka_broker}" for n in self.kafka_broker_sites]

    def kafka_voters(self) -> str:
        return ",".join(
            f"{s.controller_id}@{s.address}:{self.ports.kafka_controller}" for _, s in sorted(self.sites.items())
        )

    def dedicated_controller_sites(self) -> list[str]:
        """Data sites whose Kafka controller runs apart from their broker (program `kafka-controller`)."""
        return [n for n in self.data_sites if self.sites[n].kafka_controller_id is not None]


def checked_site_names(sites: dict[str, T]) -> dict[str, T]:
    """Site names end up in namespaces, unit names and certificates: lower-case letters/digits."""
    for name in sites:
        if not name.isascii() or not name.isalnum() or not name.islower():
            raise ValueError(f"site name {name!r} must be lower-case letters/digits")
    return sites


def _refuse_shared_ports(ports: dict[str, int]) -> None:
    seen: dict[int, str] = {}
    for name, port in ports.items():
        if port in seen:
            raise ValueError(f"{name} and {seen[port]} share port {port}")
        seen[port] = name


def _refuse_duplicates(values: dict[str, str], field: str) -> None:
    seen: dict[str, str] = {}
    for site, value in sorted(values.items()):
        if value in seen:
            raise ValueError(f"sites.{site}.{field}: sites {seen[value]} and {site} share {field} {value}")
        seen[value] = site


def parse_topology(text: str, source: str = "topology") -> Topology:
    """Parse and validate topology TOML; raise TopologyError naming the field and reason."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TopologyError(f"{source}: not valid TOML: {exc}") from None
    try:
        return Topology.model_validate(raw)
    except ValidationError as exc:
        raise TopologyError(f"{source}: {first_error(exc)}") from None


def load_topology(path: Path | None = None) -> Topology:
    path = path or DEFAULT_TOPOLOGY
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TopologyError(f"{path}: cannot read topology: {exc.strerror}") from None
    return parse_topology(text, str(path)).model_copy(update={"source": path})
