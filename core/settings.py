"""The services' one typed configuration, validated at start-up.

Built from the topology (infra/topology.toml) plus secrets by `infra.lab.services`, written as
JSON beside the other rendered configs, and read once by `ccdr serve`. Nothing in core reads the
environment or the topology file directly: the settings object is injected.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from core.intake.storable import StoreLimits
from infra.topology import AgentSettings, FailoverSettings, IntakeSettings, TicketSettings, first_error

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "secret", "password", "example"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KafkaClient(_Strict):
    bootstrap: list[str] = Field(min_length=1)
    intake_topic: str
    ticket_events_topic: str
    quarantine_topic: str


class ChannelSecrets(_Strict):
    """Shared secrets the chat and monitoring platforms sign or authenticate their calls with."""

    alert_token: SecretStr  # Alertmanager/Grafana send it as `Authorization: Bearer ...`
    slack_signing_secret: SecretStr
    teams_hmac_secret: SecretStr  # base64, as Teams shows it when the outgoing webhook is created
    zalo_app_id: str
    zalo_oa_secret_key: SecretStr


class Listen(_Strict):
    host: str
    http_port: int = Field(ge=1, le=65535)
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    health_port: int | None = Field(default=None, ge=1, le=65535)  # readiness from its own thread


class Supervisor(_Strict):
    """The site's process supervisor, which the standby controller asks to start cold components."""

    socket: str  # supervisord's unix socket
    group: str  # the site's program group (programs are addressed as group:name)


class ServiceSettings(_Strict):
    environment: Literal["lab", "production"]
    site: str = Field(pattern=r"^[a-z0-9]+$")
    public_base_url: str  # where clients reach the ticket API (status URLs point there)
    kafka: KafkaClient
    database_dsn: SecretStr
    database_reconnect_s: float = Field(default=2.0, gt=0)  # see infra.topology.DatabaseSettings
    intake_listen: Listen
    tickets_listen: Listen
    ticket_worker_listen: Listen  # the worker's /metrics
    intake: IntakeSettings
    tickets: TicketSettings
    channels: ChannelSecrets
    zookeeper_hosts: str = Field(min_length=1)  # host:port,host:port,... of the ensemble
    failover: FailoverSettings
    agents: AgentSettings
    supervisor: Supervisor
    patroni_url: str  # this site's Patroni REST API (the failover agent reports its view)
    mail_dir: str  # the notifier delivers into this Maildir (the lab has no outside mail relay)

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> ServiceSettings:
        if self.environment == "production":
            for name in ("alert_token", "slack_signing_secret", "teams_hmac_secret", "zalo_oa_secret_key"):
                value = getattr(self.channels, name).get_secret_value()
                if value.strip().casefold() in PLACEHOLDER_SECRETS or len(value) < 16:
                    raise ValueError(f"channels.{name}: a placeholder or short secret is refused in production")
        return self


class SettingsError(ValueError):
    """The settings file is missing or invalid; the message names the file and the field."""


def load_settings(path: Path) -> ServiceSettings:
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise SettingsError(f"{path}: no such settings file (the lab renders it: ccdr lab up)") from None
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{path}: not JSON ({exc})") from None
    try:
        return ServiceSettings.model_validate(raw)
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
