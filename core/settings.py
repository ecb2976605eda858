"""The services' one typed configuration, validated at start-up.

Built from the topology (infra/topology.toml) plus secrets by `infra.lab.render`, written as
JSON beside the other rendered configs, and read once by `ccdr serve`. Nothing in core reads the
environment or the topology file directly: the settings object is injected. The per-service
models (intake, tickets, failover, agents) live here, in the domain's own package; the topology
(infra.topology) imports them, never the other way round.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from core.agents.domain.tokens import SessionTokens
from core.domain.priority import Priority
from core.domain.sla import SlaOverride, SlaTargets
from core.intake.domain.storable import StoreLimits

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "secret", "password", "example"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IntakeSettings(_Strict):
    """Limits and timers of the intake service (every site runs one)."""

    max_body_bytes: int = Field(ge=1024, le=64 * 1024 * 1024)
    max_email_bytes: int = Field(ge=1024, le=256 * 1024 * 1024)
    ack_timeout_s: float = Field(gt=0, le=120)  # Kafka must acknowledge within this, or 503
    retry_after_s: int = Field(ge=1, le=3600)
    kafka_request_timeout_ms: int = Field(ge=1000, le=300_000)
    # An intake its home lane has not acknowledged within this goes out through the other lanes too
    # (core.intake.kafka.routing); a lane that lost such a race is tried last for suspect_s.
    hedge_after_ms: int = Field(ge=50, le=10_000)
    suspect_s: float = Field(gt=0, le=600)
    signature_tolerance_s: int = Field(ge=10, le=3600)  # Slack's replay window
    # What the store can keep (core.intake.domain.storable): intake refuses the rest with 422 / SMTP 550.
    max_text_chars: int = Field(ge=1000, le=1_000_000)
    max_event_bytes: int = Field(ge=16 * 1024, le=1_000_000)  # < Kafka's max.message.bytes
    event_max_age_days: int = Field(ge=1, le=36_500)
    event_max_skew_s: int = Field(ge=0, le=30 * 86_400)
    # Admission control (core.intake.domain.admission): intakes waiting for Kafka per process; what is not
    # urgent may use normal_share of them; a shed client is told to retry after shed_retry_after_s.
    max_in_flight: int = Field(ge=1, le=100_000)
    normal_share: float = Field(gt=0, le=1)
    shed_retry_after_s: int = Field(ge=1, le=60)
    max_loop_lag_ms: int = Field(ge=5, le=10_000)  # beyond: never-urgent channels refused unread
    loop_lag_sustain: int = Field(ge=1, le=1000)  # ... once this many samples in a row were late
    # Stopped (a site stepping aside, a restart): requests still waiting on Kafka after this are cut,
    # so their clients retry elsewhere at once instead of waiting out their own timeouts.
    shutdown_grace_s: int = Field(ge=1, le=60)  # whole seconds: uvicorn takes an int

    @model_validator(mode="after")
    def _hedge_before_the_deadline(self) -> IntakeSettings:
        if self.hedge_after_ms >= self.ack_timeout_s * 1000:
            raise ValueError(
                f"hedge_after_ms ({self.hedge_after_ms}) must be below ack_timeout_s ({self.ack_timeout_s:g} s): "
                "an intake would never be hedged"
            )
        return self


class SlaMinutes(_Strict):
    response_min: int = Field(ge=1, le=100_000)
    resolution_min: int | None = Field(default=None, ge=1, le=1_000_000)  # None: a scheduled date (P4)

    def targets(self) -> SlaTargets:
        resolution = timedelta(minutes=self.resolution_min) if self.resolution_min else None
        return SlaTargets(response=timedelta(minutes=self.response_min), resolution=resolution)


class SlaOverrideSettings(_Strict):
    """Targets of a contract tier, a region, or both; the priorities not listed keep the base ones."""

    tier: str | None = Field(default=None, pattern=r"^[a-z0-9_-]{1,40}$")
    region: Literal["north", "central", "south"] | None = None
    targets: dict[Priority, SlaMinutes] = Field(min_length=1)

    def override(self) -> SlaOverride:
        return SlaOverride(
            tier=self.tier, region=self.region, targets={p: m.targets() for p, m in self.targets.items()}
        )


class TicketSettings(_Strict):
    consumer_group: str = Field(pattern=r"^[A-Za-z0-9._-]{1,200}$")
    max_batch: int = Field(ge=1, le=10_000)  # events per partition per poll, applied in one transaction
    outbox_interval_ms: int = Field(ge=50, le=60_000)
    # The outbox relay holds its claim (a transaction) while Kafka acknowledges; it gives up after
    # this, below PostgreSQL's idle_in_transaction_session_timeout, and tries again.
    outbox_publish_timeout_s: float = Field(gt=0, le=300)
    page_size_max: int = Field(ge=1, le=1000)
    # The worker's consumer-group timers: a dead site's partitions move after session_timeout_ms.
    session_timeout_ms: int = Field(ge=1000, le=300_000)
    heartbeat_interval_ms: int = Field(ge=100, le=60_000)
    # One request to a broker (fetch, metadata, join): a broker cut off by a partition drops packets
    # rather than refusing, and the consumer waits this long before it tries another.
    kafka_request_timeout_ms: int = Field(ge=1000, le=300_000)
    db_timeout_s: float = Field(gt=0, le=300)  # one attempt at a batch; a hung primary is retried
    # A reply or a cleared alert naming a ticket not there yet waits this long for it (0: never): a
    # hedge across a lost lane can deliver it ahead of its ticket's own intake. Held events are
    # looked at every held_check_ms, and applied once their ticket appears or the wait ends.
    hold_for_ticket_s: float = Field(ge=0, le=3600)
    held_check_ms: int = Field(ge=50, le=60_000)
    worker_pool_size: int = Field(ge=2, le=64)  # partitions applied in parallel share it
    # A worker whose consumer or relay failed stops the other and exits for supervisord to restart
    # it; if that orderly stop hangs this long, the process ends anyway.
    failed_exit_s: float = Field(gt=0, le=120)
    max_body_bytes: int = Field(ge=1024, le=16 * 1024 * 1024)  # a ticket/agent API request (413 beyond)
    # The pipeline's objective: this share of intakes has its ticket committed within slo_s of its
    # receipt (`ccdr tickets pipeline` and drill reports judge it).
    slo_s: float = Field(gt=0, le=3600)
    slo_share: float = Field(gt=0, le=1)
    # SLA targets per priority (seed 000), and where a contract tier or a region differs; a ticket
    # keeps the targets in force when it opened (its snapshot).
    sla_targets: dict[Priority, SlaMinutes]
    kpi_refresh_s: float = Field(gt=0, le=86_400)  # the ticket API's desk-KPI gauges are recomputed this often
    sla_overrides: list[SlaOverrideSettings] = Field(default_factory=list)

    @model_validator(mode="after")
    def _sla_valid(self) -> TicketSettings:
        missing = [p.value for p in Priority if p not in self.sla_targets]
        if missing:
            raise ValueError(f"tickets.sla_targets: missing {', '.join(missing)}")
        for o in self.sla_overrides:
            o.override()  # refuses one that names neither a tier nor a region
        return self

    def sla_policies(self) -> tuple[dict[Priority, SlaTargets], tuple[SlaOverride, ...]]:
        return {p: m.targets() for p, m in self.sla_targets.items()}, tuple(o.override() for o in self.sla_overrides)

    @model_validator(mode="after")
    def _heartbeat_below_session(self) -> TicketSettings:
        if self.heartbeat_interval_ms * 3 > self.session_timeout_ms:
            raise ValueError("tickets.heartbeat_interval_ms must be at most a third of session_timeout_ms")
        if self.kafka_request_timeout_ms <= self.session_timeout_ms:
            # A join waits up to the rebalance timeout (aiokafka: the session timeout) for an answer.
            raise ValueError("tickets.kafka_request_timeout_ms must exceed session_timeout_ms, or every join times out")
        return self


class ColdComponent(_Strict):
    """A component that runs at one site only; the other site starts it when needed."""

    active_site: str  # where it runs until a failover moves it
    grace_s: float = Field(ge=1, le=3600)  # the active site's lease must be gone this long first


class StepAsideSettings(_Strict):
    """A data site cut off from the other while both still reach the witness steps aside
    (failover.cutoff): it stops `programs` (its Kafka broker hands its leaders over, its services
    leave the front door and the consumer group) and starts them again once back in touch."""

    after_s: float = Field(ge=0.5, le=60)  # cut off this long: step aside
    rejoin_after_s: float = Field(ge=1, le=600)  # in touch again this long: serve again
    peer_fresh_s: float = Field(ge=1, le=60)  # the peer's registry record changed within this: it is alive
    probe_timeout_s: float = Field(gt=0, le=10)  # one TCP connect to the peer
    programs: list[str] = Field(min_length=1)  # stopped in this order, started in the reverse


class FailoverSettings(_Strict):
    """Timers of the failover agent (singletons, cold standby, site registry) and of presence."""

    session_timeout_s: float = Field(ge=2, le=60)  # leadership and presence vanish this long after a site dies
    op_timeout_s: float = Field(gt=0, le=30)  # one ZooKeeper call, at most
    loop_s: float = Field(ge=0.1, le=10)  # one decide-and-act tick
    heartbeat_s: float = Field(ge=0.5, le=60)  # site registry refresh
    # A decider's ZooKeeper session held through a server other than its preferred one (after a
    # cut, kazoo stays wherever it reconnected) is moved back within this (failover.zookeeper.rehome).
    rehome_s: float = Field(ge=1, le=3600)
    # A dedicated Kafka controller found leading at a data site is restarted to hand the lead on
    # (failover.controller_steward): looked at this often, once the quorum has kept its leader and
    # epoch, with every voter up, for the hold.
    controller_steward_s: float = Field(ge=1, le=3600)
    controller_steward_hold_s: float = Field(ge=0, le=86_400)
    absent_grace_s: float = Field(ge=1, le=86_400)  # re-route an absent agent's tickets after this
    sla_clock_batch: int = Field(ge=1, le=100_000)  # due tickets read per query
    sla_clock_horizon_s: float = Field(ge=60, le=86_400)  # nothing due sooner: look again after this
    dispatch_batch: int = Field(ge=1, le=100_000)  # tickets needing an assignee read per pass
    duty_manager: str  # whom the emergency plan notifies
    servicedesk_manager: str  # who hears every complaint (seed 000: complaints go to the ServiceDesk manager)
    cold: dict[str, ColdComponent] = Field(default_factory=dict)
    step_aside: StepAsideSettings | None = None  # None: never (a deployment without a way to stop programs)


class AgentSettings(_Strict):
    session_ttl_h: float = Field(ge=0.25, le=168)  # an agent's token expires after this (a long shift)
    # Sign-in throttle (core.agents.domain.throttle): failures tolerated per agent ID and per client
    # address within the window; beyond them, 429 with Retry-After until the oldest leaves it.
    login_max_failures: int = Field(ge=1, le=1000)
    login_max_client_failures: int = Field(ge=1, le=100_000)
    login_window_s: int = Field(ge=10, le=86_400)
    # Sessions are signed tokens checked without the database (core.agents.sessions); revocations
    # are re-read from any node this often, so a logout or revoke takes effect within it.
    revocation_refresh_s: float = Field(gt=0, le=60)
    # A sign-in's audit record is written to the primary; the answer waits for it at most this long
    # (then it is written when the primary is back: core.agents.login_records) ...
    login_record_wait_s: float = Field(ge=0, le=10)
    login_record_retry_s: float = Field(gt=0, le=60)  # ... tried again this often meanwhile


def first_error(exc: ValidationError) -> str:
    """One line for a person: the first wrong field's dotted name and why, and how many more."""
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    where = f"{loc}: " if loc else ""
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}{msg}{more}"


class KafkaAuth(_Strict):
    """Who this process is to the brokers: SASL/SCRAM over TLS (core.kafka.connection_options).
    Each service has a principal of its own, and the brokers' ACLs allow it only what its job needs."""

    username: str = Field(min_length=1)
    password: SecretStr
    ca_file: str  # the CA the brokers' certificates are checked against (names verified)


class KafkaClient(_Strict):
    bootstrap: list[str] = Field(min_length=1)
    intake_topic: str
    ticket_events_topic: str
    quarantine_topic: str
    auth: KafkaAuth | None = None  # None: plaintext, unauthenticated (refused in production)


class ZooKeeperTls(_Strict):
    """TLS to the ensemble, this process known by its certificate (ZooKeeper requires one)."""

    ca_file: str
    cert_file: str
    key_file: str


class ChannelSecrets(_Strict):
    """Shared secrets the chat and monitoring platforms sign or authenticate their calls with."""

    alert_token: SecretStr  # Alertmanager/Grafana send it as `Authorization: Bearer ...`
    slack_signing_secret: SecretStr
    teams_hmac_secret: SecretStr  # base64, as Teams shows it when the outgoing webhook is created
    zalo_app_id: str
    zalo_oa_secret_key: SecretStr


class SessionKeys(_Strict):
    """Ed25519 keys of agent session tokens (base64url, core.agents.domain.tokens): every service
    checks with the public keys (the first is current; older ones are kept while their tokens live);
    only the ticket API, which signs agents in, needs the private key."""

    signing_key: SecretStr | None = None
    public_keys: list[str] = Field(min_length=1)


class Listen(_Strict):
    host: str
    http_port: int = Field(ge=1, le=65535)
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    health_port: int | None = Field(default=None, ge=1, le=65535)  # readiness from its own thread
    # Addresses whose X-Forwarded-For is believed (the front door): the client's own address is what
    # the login audit records and the sign-in throttle counts, not the proxy's.
    trusted_proxies: tuple[str, ...] = ()
    # The site's certificate and key (PEM files): HTTPS on http_port with `https` (the front door
    # re-encrypts to it), and SMTP STARTTLS; with `smtp_require_tls`, no MAIL before it (the lab and
    # production: only the organisation's relay and our tests send here).
    tls_cert: str | None = None
    tls_key: str | None = None
    https: bool = False
    smtp_require_tls: bool = False

    @model_validator(mode="after")
    def _tls_pair(self) -> Listen:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key: give both or neither")
        if (self.smtp_require_tls or self.https) and self.tls_cert is None:
            raise ValueError("https and smtp_require_tls: need tls_cert and tls_key")
        return self


class OutboundMail(_Strict):
    """The relay every notice leaves through (core.notify.mail): SMTP with STARTTLS required, the
    relay's name checked against `ca_file`, and this site known to it by its certificate."""

    relay_host: str = Field(min_length=1)
    relay_port: int = Field(ge=1, le=65535)
    sender: str = Field(min_length=3)  # the From of every notice, "Name <address>"
    ca_file: str
    cert_file: str | None = None
    key_file: str | None = None
    timeout_s: float = Field(gt=0)
    retry_s: float = Field(gt=0)  # an undelivered notice is tried again after this long
    # A customer address gets at most this many notices an hour: the portal takes anyone's address,
    # and the desk's relay must not become a way to flood one.
    max_per_address_per_hour: int = Field(ge=1, le=100_000)

    @model_validator(mode="after")
    def _cert_pair(self) -> OutboundMail:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file: give both or neither")
        return self


class ChatReplies(_Strict):
    """The chat platforms' APIs the notifier answers customers through (core.notify.chat): each
    platform's base URL and the credential it takes. `ca_file` None: the system's trust store (the
    public platforms); the lab points it at its own CA and its stand-in."""

    slack_api_url: str = Field(pattern=r"^https://")
    slack_bot_token: SecretStr
    zalo_api_url: str = Field(pattern=r"^https://")
    zalo_oa_access_token: SecretStr
    # Teams: the desk's bot (Bot Framework): its connector for the tenant's region, and the token
    # endpoint it gets a bearer token from with its app id and password (client credentials).
    teams_service_url: str = Field(pattern=r"^https://")
    teams_token_url: str = Field(pattern=r"^https://")
    teams_scope: str = Field(min_length=1)
    teams_app_id: str = Field(min_length=1)
    teams_app_password: SecretStr
    ca_file: str | None = None
    timeout_s: float = Field(gt=0)


class CustomerSettings(_Strict):
    """What customers receive. Their status page (core.tickets.http.status_page) is reached through
    a per-ticket link signed with `status_link_key`: whoever has the link sees that ticket's public
    progress, nothing else. Times in their mail are shown in `timezone`."""

    status_link_key: SecretStr
    timezone: str = Field(min_length=1)

    @model_validator(mode="after")
    def _known_zone(self) -> CustomerSettings:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: unknown time zone {self.timezone!r}") from None
        return self


class ConsoleSettings(_Strict):
    """What the console's outer panels read: the data sites (a lost one is shown as lost, not left
    out) and the drill archive (signed reports and their ledger), if this deployment keeps one."""

    data_sites: list[str] = Field(min_length=1)
    drill_archive_dir: str | None = None
    drill_public_key: str | None = None  # the key the auditors' page verifies with (not the archive's)


class Supervisor(_Strict):
    """The site's process supervisor, which the standby controller asks to start cold components."""

    socket: str  # supervisord's unix socket
    group: str  # the site's program group (programs are addressed as group:name)


class LocalKafkaController(_Strict):
    """This site's dedicated Kafka controller, which the failover agent keeps from leading."""

    program: str = Field(min_length=1)  # its supervisord program
    node_id: int = Field(ge=1)
    quorum_state: str  # the `quorum-state` file of its metadata log: the leader it last saw
    other_voters: list[str] = Field(min_length=2)  # host:port of every other controller


class ServiceSettings(_Strict):
    environment: Literal["lab", "production"]
    site: str = Field(pattern=r"^[a-z0-9]+$")
    public_base_url: str  # where clients reach the ticket API (status URLs point there)
    kafka: KafkaClient
    database_dsn: SecretStr
    # Any node, this site's first (target_session_attrs=any): sign-in and the revocation list read
    # here, so they keep working while the primary moves.
    database_read_dsn: SecretStr
    database_reconnect_s: float = Field(gt=0)  # see infra.topology.DatabaseSettings
    database_check_timeout_s: float = Field(gt=0)  # ditto
    intake_listen: Listen
    tickets_listen: Listen
    ticket_worker_listen: Listen  # the worker's /metrics
    intake: IntakeSettings
    tickets: TicketSettings
    channels: ChannelSecrets
    zookeeper_hosts: str = Field(min_length=1)  # host:port,... of the ensemble, tried in this order
    # "user:password" (digest): ccdr's znodes are readable and writable by that user only.
    zookeeper_auth: SecretStr | None = None
    zookeeper_tls: ZooKeeperTls | None = None  # None: plaintext (refused in production)
    failover: FailoverSettings
    agents: AgentSettings
    sessions: SessionKeys
    supervisor: Supervisor
    patroni_url: str  # this site's Patroni REST API (the failover agent reports its view)
    # The other data sites, each by the host:port endpoints that prove we reach it (a partition
    # makes them time out): what the failover agent's step-aside rule probes.
    peer_endpoints: dict[str, list[str]] = Field(default_factory=dict)
    kafka_controller: LocalKafkaController | None = None  # None: no dedicated controller on this host
    patroni_ca: str | None = None  # the CA its HTTPS certificate is checked against
    mail: OutboundMail
    chat_replies: ChatReplies
    customer: CustomerSettings
    console: ConsoleSettings

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> ServiceSettings:
        if self.environment == "production":
            for name in ("alert_token", "slack_signing_secret", "teams_hmac_secret", "zalo_oa_secret_key"):
                value = getattr(self.channels, name).get_secret_value()
                if value.strip().casefold() in PLACEHOLDER_SECRETS or len(value) < 16:
                    raise ValueError(f"channels.{name}: a placeholder or short secret is refused in production")
            if self.kafka.auth is None:
                raise ValueError("kafka.auth: required in production (anyone could publish an intake event)")
            if len(self.kafka.auth.password.get_secret_value()) < 16:
                raise ValueError("kafka.auth.password: a short secret is refused in production")
            if not (self.intake_listen.https and self.tickets_listen.https):
                raise ValueError("intake_listen.https, tickets_listen.https: required in production")
            if self.intake_listen.smtp_port and not self.intake_listen.smtp_require_tls:
                raise ValueError("intake_listen.smtp_require_tls: required in production (no mail in clear)")
            if self.zookeeper_tls is None:
                raise ValueError(
                    "zookeeper_tls: required in production (the ensemble holds the database's leader lock)"
                )
            if self.zookeeper_auth is None:
                raise ValueError("zookeeper_auth: required in production (ccdr's znodes must not be open to anyone)")
            if len(self.customer.status_link_key.get_secret_value()) < 32:
                raise ValueError("customer.status_link_key: at least 32 characters in production")
            if self.mail.cert_file is None:
                raise ValueError("mail.cert_file: the relay must know this site by its certificate in production")
            if "password=" in self.database_dsn.get_secret_value() + self.database_read_dsn.get_secret_value():
                raise ValueError("database_dsn: a password in the DSN is refused in production (use passfile=)")
        return self

    @model_validator(mode="after")
    def _session_keys_usable(self) -> ServiceSettings:
        try:
            signing = self.sessions.signing_key.get_secret_value() if self.sessions.signing_key else None
            SessionTokens(self.sessions.public_keys, signing)
        except ValueError as exc:
            raise ValueError(f"sessions: {exc}") from None
        return self


class GuardSettings(_Strict):
    """`ccdr serve step-aside`: the failover agent's step-aside rule alone, on a host that runs no
    failover agent (in production, a Kafka broker's host): it stops and starts that host's systemd
    units as its site's posture requires. It holds no database or Kafka credential."""

    environment: Literal["lab", "production"]
    site: str = Field(pattern=r"^[a-z0-9]+$")
    zookeeper_hosts: str = Field(min_length=1)
    zookeeper_auth: SecretStr | None = None
    zookeeper_tls: ZooKeeperTls | None = None
    failover: FailoverSettings
    peer_endpoints: dict[str, list[str]] = Field(min_length=1)
    patroni_url: str  # this site's Patroni (is the primary here?)
    patroni_ca: str | None = None
    units: list[str] = Field(min_length=1)  # stopped in this order when the site steps aside
    # A dedicated Kafka controller on this host, kept from leading (failover.controller_steward)
    kafka_controller: LocalKafkaController | None = None

    @model_validator(mode="after")
    def _has_a_rule(self) -> GuardSettings:
        if self.failover.step_aside is None:
            raise ValueError("failover.step_aside: required by the step-aside guard")
        if self.environment == "production" and self.zookeeper_tls is None:
            raise ValueError("zookeeper_tls: refused in production without it")
        return self


def zookeeper_credentials(settings: ServiceSettings | GuardSettings) -> tuple[str, str] | None:
    if settings.zookeeper_auth is None:
        return None
    user, _, password = settings.zookeeper_auth.get_secret_value().partition(":")
    return user, password


class SettingsError(ValueError):
    """The settings file is missing or invalid; the message names the file and the field."""


def resolve_secrets(value: Any, where: str = "") -> Any:
    """Secrets kept out of the settings file: `{"$file": PATH}` is replaced by the file's content
    (stripped), `{"$env": NAME}` by the environment variable; a missing one is refused by name."""
    if isinstance(value, dict):
        if set(value) == {"$file"}:
            try:
                return Path(value["$file"]).read_text().strip()
            except OSError as exc:
                raise SettingsError(f"{where}: cannot read secret file {value['$file']}: {exc.strerror}") from None
        if set(value) == {"$env"}:
            found = os.environ.get(value["$env"])
            if not found:
                raise SettingsError(f"{where}: environment variable {value['$env']} is not set")
            return found
        return {k: resolve_secrets(v, f"{where}.{k}" if where else k) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_secrets(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


SettingsModel = TypeVar("SettingsModel", ServiceSettings, GuardSettings)


def load_settings(path: Path) -> ServiceSettings:
    return _load(path, ServiceSettings)


def load_guard_settings(path: Path) -> GuardSettings:
    return _load(path, GuardSettings)


def _load(path: Path, model: type[SettingsModel]) -> SettingsModel:
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise SettingsError(f"{path}: no such settings file (the lab renders it: ccdr lab up)") from None
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{path}: not JSON ({exc})") from None
    try:
        raw = resolve_secrets(raw)
    except SettingsError as exc:
        raise SettingsError(f"{path}: {exc}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise SettingsError(f"{path}: {first_error(exc)}") from None


def store_limits(settings: ServiceSettings) -> StoreLimits:
    """The store's limits as configured: intake refuses, and the ticket worker quarantines, the rest."""
    intake = settings.intake
    return StoreLimits(
        max_text_chars=intake.max_text_chars,
        max_event_bytes=intake.max_event_bytes,
        max_age=timedelta(days=intake.event_max_age_days),
        max_skew=timedelta(seconds=intake.event_max_skew_s),
    )
