"""Webhook signatures and lab secrets for the load test, with the standard library only.

Locust runs on gevent, so the locustfile must not import ccdr's asyncio code (`core.*` pulls in
pydantic models, aiokafka, psycopg...). These helpers re-implement the formulas of
`core.intake.domain.channels.chat` byte for byte; `tests/unit/loadtests/test_signing.py` proves it.

- Slack: `v0=<hex HMAC-SHA256(signing secret, "v0:{timestamp}:{body}")>`.
- Teams: `HMAC <base64 HMAC-SHA256(key=base64decode(secret), body)>`.
- Zalo OA: `mac=<hex SHA-256(app_id + body + timestamp + OA secret key)>` (a digest, not an HMAC),
  where `timestamp` is the payload's own "timestamp" field.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import ssl
from dataclasses import dataclass
from pathlib import Path

import httpx

DEFAULT_SECRETS_PATH = Path("/var/lib/ccdr-lab/secrets.json")
DEFAULT_CA_PATH = Path("/var/lib/ccdr-lab/pki/ca.crt")  # the lab CA: the front door's HTTPS, STARTTLS


@dataclass(frozen=True)
class LabSecrets:
    """The channel secrets a load test needs (a subset of `infra.lab.render.Secrets`)."""

    alert_token: str
    slack_signing: str
    teams_hmac: str  # base64, as Teams issues it
    zalo_app_id: str
    zalo_oa_key: str
    agent_password: str  # the lab's demo agents': hotline entries need a signed-in agent


def load_secrets(path: Path) -> LabSecrets:
    """The lab's secrets file (JSON object keyed by `Secrets` field names); other keys are ignored."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ValueError(f"cannot read the lab secrets at {path}: {exc.strerror or exc}") from None
    except ValueError:
        raise ValueError(f"the lab secrets at {path} are not JSON") from None
    if not isinstance(data, dict):
        raise ValueError(f"the lab secrets at {path} must be a JSON object")
    names = LabSecrets.__dataclass_fields__
    missing = sorted(name for name in names if not isinstance(data.get(name), str) or not data[name])
    if missing:
        raise ValueError(f"the lab secrets at {path} lack {', '.join(missing)}")
    return LabSecrets(**{name: str(data[name]) for name in names})


def slack_signature(signing_secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Slack-Signature` value for this body and `X-Slack-Request-Timestamp`."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def slack_headers(signing_secret: str, body: bytes, now: float) -> dict[str, str]:
    """Headers Slack sends with an Events API call made at `now` (epoch seconds)."""
    timestamp = str(int(now))
    return {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": slack_signature(signing_secret, timestamp, body),
    }


def teams_signature(secret_b64: str, body: bytes) -> str:
    """The `Authorization` value a Teams outgoing webhook sends."""
    try:
        key = base64.b64decode(secret_b64, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the Teams HMAC secret is not base64") from None
    return "HMAC " + base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def teams_headers(secret_b64: str, body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "Authorization": teams_signature(secret_b64, body)}


def zalo_signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """The `X-ZEvent-Signature` value Zalo sends for this body."""
    digest = hashlib.sha256(app_id.encode() + body + timestamp.encode() + oa_secret_key.encode())
    return "mac=" + digest.hexdigest()


def zalo_headers(app_id: str, oa_secret_key: str, body: bytes, timestamp: str) -> dict[str, str]:
    """`timestamp` must be the payload's own "timestamp" field, as Zalo signs that one."""
    return {
        "Content-Type": "application/json",
        "X-ZEvent-Signature": zalo_signature(app_id, body, timestamp, oa_secret_key),
    }


def bearer_headers(token: str) -> dict[str, str]:
    """Alertmanager's `http_config.authorization` and Grafana's contact point send this."""
    return {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}


def agent_session_token(
    tickets_url: str, agent_id: str, password: str, timeout_s: float = 10, *, verify: ssl.SSLContext | bool = True
) -> str:
    """Sign a desk agent in at the ticket API; the session token hotline and walk-in entries carry."""
    try:
        r = httpx.post(
            f"{tickets_url}/v1/agents/login",
            json={"agent_id": agent_id, "password": password},
            timeout=timeout_s,
            verify=verify,
        )
    except httpx.HTTPError as exc:
        raise ValueError(f"cannot sign {agent_id} in at {tickets_url}: {exc}") from None
    if r.status_code != 200:
        raise ValueError(f"cannot sign {agent_id} in at {tickets_url}: HTTP {r.status_code} {r.text[:200]}")
    return str(r.json()["token"])
