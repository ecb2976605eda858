"""Our gevent-safe signers give byte-identical results to core's, and the secrets loader reads the lab's file."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.intake.domain.channels import chat
from loadtests import signing

secrets_text = st.text(min_size=1, max_size=64)
bodies = st.binary(max_size=2048)
timestamps = st.integers(min_value=0, max_value=2**40).map(str)
teams_secrets = st.binary(min_size=1, max_size=64).map(lambda b: base64.b64encode(b).decode())


@given(secrets_text, timestamps, bodies)
def test_slack_signature_equals_core(secret: str, timestamp: str, body: bytes) -> None:
    assert signing.slack_signature(secret, timestamp, body) == chat.slack_signature(secret, timestamp, body)


@given(teams_secrets, bodies)
def test_teams_signature_equals_core(secret: str, body: bytes) -> None:
    assert signing.teams_signature(secret, body) == chat.teams_signature(secret, body)


@given(secrets_text, bodies, timestamps, secrets_text)
def test_zalo_signature_equals_core(app_id: str, body: bytes, timestamp: str, key: str) -> None:
    assert signing.zalo_signature(app_id, body, timestamp, key) == chat.zalo_signature(app_id, body, timestamp, key)


def test_teams_refuses_a_secret_that_is_not_base64_like_core() -> None:
    with pytest.raises(ValueError):
        chat.teams_signature("not base64!", b"{}")
    with pytest.raises(ValueError):
        signing.teams_signature("not base64!", b"{}")


def test_headers_pass_core_verification() -> None:
    body = json.dumps({"timestamp": "1715072541873", "app_id": "42"}).encode()
    slack = signing.slack_headers("s3cret", body, 1_715_072_541.9)
    chat.verify_slack("s3cret", slack["X-Slack-Request-Timestamp"], slack["X-Slack-Signature"], body, 1_715_072_600)
    teams_secret = base64.b64encode(b"k" * 32).decode()
    chat.verify_teams(teams_secret, signing.teams_headers(teams_secret, body)["Authorization"], body)
    zalo = signing.zalo_headers("42", "oa-key", body, "1715072541873")
    chat.verify_zalo("42", "oa-key", zalo["X-ZEvent-Signature"], body)
    assert signing.bearer_headers("tok")["Authorization"] == "Bearer tok"


LAB_KEYS = {
    "superuser": "su",
    "replication": "re",
    "rewind": "rw",
    "app": "app",
    "alert_token": "alert",
    "slack_signing": "slack",
    "teams_hmac": base64.b64encode(b"t" * 32).decode(),
    "zalo_app_id": "1234567890",
    "zalo_oa_key": "zalo",
    "agent_password": "agents",
}


def test_loads_the_lab_secrets_file(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps(LAB_KEYS))
    loaded = signing.load_secrets(path)
    assert (loaded.alert_token, loaded.slack_signing, loaded.zalo_app_id) == ("alert", "slack", "1234567890")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{", "not JSON"),
        ("[]", "JSON object"),
        (json.dumps({k: v for k, v in LAB_KEYS.items() if k != "teams_hmac"}), "lack teams_hmac"),
        (json.dumps({**LAB_KEYS, "alert_token": ""}), "lack alert_token"),
    ],
)
def test_refuses_an_unusable_secrets_file(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "secrets.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ValueError, match=message):
        signing.load_secrets(path)
