"""Secrets kept out of the settings file: read from a file or the environment at start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.settings import SettingsError, load_settings
from infra.lab.layout import SiteDirs
from infra.lab.render import service_settings
from infra.topology import load_topology
from tests.unit.infra.test_render import SECRETS


def _settings_file(tmp_path: Path, **replace: object) -> Path:
    raw = service_settings(load_topology(), "a", SECRETS, SiteDirs(tmp_path / "site-a"))
    raw["channels"] = {**raw["channels"], **replace}  # type: ignore[dict-item]
    path = tmp_path / "services.json"
    path.write_text(json.dumps(raw))
    return path


def test_a_secret_is_read_from_its_file_and_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "alert_token"
    secret.write_text("from-a-file-0123456789\n")
    monkeypatch.setenv("CCDR_SLACK_SIGNING", "from-the-environment-0123")
    path = _settings_file(
        tmp_path, alert_token={"$file": str(secret)}, slack_signing_secret={"$env": "CCDR_SLACK_SIGNING"}
    )
    settings = load_settings(path)
    assert settings.channels.alert_token.get_secret_value() == "from-a-file-0123456789"
    assert settings.channels.slack_signing_secret.get_secret_value() == "from-the-environment-0123"


def test_a_missing_secret_is_one_line_naming_the_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CCDR_NOPE", raising=False)
    missing = tmp_path / "nope"
    with pytest.raises(SettingsError, match=r"channels\.alert_token: cannot read secret file .*nope"):
        load_settings(_settings_file(tmp_path, alert_token={"$file": str(missing)}))
    with pytest.raises(SettingsError, match=r"channels\.alert_token: environment variable CCDR_NOPE is not set"):
        load_settings(_settings_file(tmp_path, alert_token={"$env": "CCDR_NOPE"}))
