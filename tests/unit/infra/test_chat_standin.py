"""The chat stand-in checks each call as the platform would, and keeps only what it accepted."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from infra.lab.chat_standin import (
    SLACK_PATH,
    TEAMS_ACTIVITIES_PATH,
    TEAMS_TOKEN_PATH,
    ZALO_PATH,
    StandinConfig,
    create_app,
    received,
)


def _client(tmp_path: Path) -> tuple[TestClient, Path]:
    out = tmp_path / "received.jsonl"
    config = StandinConfig(
        host="127.0.0.1",
        port=1,
        cert_file="-",
        key_file="-",
        slack_bot_token="xoxb-good",
        zalo_oa_access_token="zalo-good",
        teams_app_id="app-1",
        teams_app_password="teams-good",
        teams_scope="https://api.botframework.com/.default",
        received=str(out),
    )
    return TestClient(create_app(config)), out


def test_slack_takes_a_message_with_its_bot_token_only(tmp_path: Path) -> None:
    client, out = _client(tmp_path)
    body = {"channel": "C1", "text": "[INC-1] Đã tiếp nhận"}
    assert client.post(SLACK_PATH, json=body, headers={"Authorization": "Bearer xoxb-bad"}).json() == {
        "ok": False,
        "error": "invalid_auth",
    }
    assert (
        client.post(
            SLACK_PATH, json={"channel": "C1", "text": " "}, headers={"Authorization": "Bearer xoxb-good"}
        ).json()["error"]
        == "no_text"
    )
    ok = client.post(SLACK_PATH, json=body, headers={"Authorization": "Bearer xoxb-good"}).json()
    assert ok["ok"] is True and ok["channel"] == "C1"
    assert [r["body"] for r in received(out)] == [body]


def test_zalo_takes_a_text_to_a_user_with_its_access_token_and_within_its_limit(tmp_path: Path) -> None:
    client, out = _client(tmp_path)
    good = {"recipient": {"user_id": "246"}, "message": {"text": "Đã tiếp nhận"}}
    assert client.post(ZALO_PATH, json=good, headers={"access_token": "nope"}).json()["error"] == -216
    too_long = {"recipient": {"user_id": "246"}, "message": {"text": "x" * 2001}}
    assert client.post(ZALO_PATH, json=too_long, headers={"access_token": "zalo-good"}).json()["error"] == -201
    no_user = {"recipient": {}, "message": {"text": "x"}}
    assert client.post(ZALO_PATH, json=no_user, headers={"access_token": "zalo-good"}).json()["error"] == -201
    assert client.post(ZALO_PATH, json=good, headers={"access_token": "zalo-good"}).json()["error"] == 0
    assert [r["platform"] for r in received(out)] == ["zalo"]


def test_teams_takes_an_activity_only_with_a_token_its_endpoint_issued_for_the_bots_credentials(tmp_path: Path) -> None:
    client, out = _client(tmp_path)
    form = {
        "grant_type": "client_credentials",
        "client_id": "app-1",
        "client_secret": "teams-good",
        "scope": "https://api.botframework.com/.default",
    }
    assert client.post(TEAMS_TOKEN_PATH, data=form | {"client_secret": "bad"}).status_code == 401
    token = client.post(TEAMS_TOKEN_PATH, data=form).json()["access_token"]
    url = TEAMS_ACTIVITIES_PATH.format(conversation="19:abc@thread.v2")
    activity = {"type": "message", "text": "[INC-1] Đã tiếp nhận"}
    assert client.post(url, json=activity, headers={"Authorization": "Bearer forged"}).status_code == 401
    assert client.post(url, json={"type": "typing"}, headers={"Authorization": f"Bearer {token}"}).status_code == 400
    assert client.post(url, json=activity, headers={"Authorization": f"Bearer {token}"}).status_code == 201
    assert [r["body"]["conversation"] for r in received(out)] == ["19:abc@thread.v2"]
