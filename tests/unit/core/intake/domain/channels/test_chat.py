"""Slack, Teams and Zalo: each signature scheme accepts what the platform signs and nothing else."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import BadSignature, InvalidInput
from core.intake.domain.channels.chat import (
    SlackChallenge,
    check_fresh,
    parse_slack,
    parse_teams,
    parse_zalo,
    teams_sent_at,
    verify_slack,
    verify_teams,
    verify_zalo,
    zalo_sent_at,
)
from core.intake.domain.schemas import Channel, IntakeKind

SAMPLES = Path(__file__).resolve().parents[5] / "samples" / "channels"
CODE = "INC-7K3M-9QX2-AB4D"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAMS_SECRET = base64.b64encode(b"teams outgoing webhook secret 32b").decode()
ZALO_APP = "3061483922957117442"
ZALO_SECRET = "Zq1vD8nT4kP0sR7wX2yB"


def raw(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def load(name: str) -> dict[str, Any]:
    return json.loads(raw(name))


def dump(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def one_byte_changed(data: bytes, index: int, delta: int) -> bytes:
    i = index % len(data)
    return data[:i] + bytes([(data[i] + delta) % 256]) + data[i + 1 :]


# Independent signers, written from each platform's documentation rather than from the module.


def slack_sign(secret: str, ts: str, body: bytes) -> str:
    return "v0=" + hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()


def teams_sign(secret_b64: str, body: bytes) -> str:
    digest = hmac.new(base64.b64decode(secret_b64), body, hashlib.sha256).digest()
    return "HMAC " + base64.b64encode(digest).decode()


def zalo_sign(app_id: str, body: bytes, secret: str) -> str:
    timestamp = str(json.loads(body)["timestamp"])
    return "mac=" + hashlib.sha256((app_id + body.decode() + timestamp + secret).encode()).hexdigest()


# Slack


def test_slack_accepts_its_documented_example() -> None:
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    verify_slack(SLACK_SECRET, "1531420618", signature, body, now=1531420618.0)


@pytest.mark.parametrize("skew", [-300, 0, 300])
def test_slack_accepts_within_tolerance(skew: int) -> None:
    body = raw("slack-event.json")
    verify_slack(SLACK_SECRET, "1715069412", slack_sign(SLACK_SECRET, "1715069412", body), body, 1715069412 + skew)


@pytest.mark.parametrize(
    ("timestamp", "signature", "now", "why"),
    [
        ("1715069412", "v0=" + "0" * 64, 1715069412, "does not match"),
        ("1715069412", slack_sign("another secret", "1715069412", b"{}"), 1715069412, "does not match"),
        ("1715069412", slack_sign(SLACK_SECRET, "1715069411", b"{}"), 1715069412, "does not match"),
        (None, slack_sign(SLACK_SECRET, "1715069412", b"{}"), 1715069412, "missing"),
        ("1715069412", None, 1715069412, "missing"),
        ("1715069412", "", 1715069412, "missing"),
        ("1715069412", slack_sign(SLACK_SECRET, "1715069412", b"{}"), 1715069412 + 301, "stale"),
        ("1715069412", slack_sign(SLACK_SECRET, "1715069412", b"{}"), 1715069412 - 301, "stale"),
        ("soon", slack_sign(SLACK_SECRET, "soon", b"{}"), 1715069412, "epoch seconds"),
    ],
)
def test_slack_refuses(timestamp: str | None, signature: str | None, now: float, why: str) -> None:
    with pytest.raises(BadSignature, match=why) as caught:
        verify_slack(SLACK_SECRET, timestamp, signature, b"{}", now)
    assert caught.value.status == 401


@given(secret=st.text(min_size=1), body=st.binary(min_size=1), index=st.integers(0), delta=st.integers(1, 255))
def test_slack_accepts_any_signed_body_and_refuses_any_changed_byte(
    secret: str, body: bytes, index: int, delta: int
) -> None:
    signature = slack_sign(secret, "1700000000", body)
    verify_slack(secret, "1700000000", signature, body, 1700000000)
    with pytest.raises(BadSignature):
        verify_slack(secret, "1700000000", signature, one_byte_changed(body, index, delta), 1700000000)


def test_slack_url_verification_is_a_challenge() -> None:
    outcome = parse_slack(raw("slack-url-verification.json"))
    assert outcome == SlackChallenge(challenge="3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")


def test_slack_message_maps_every_field() -> None:
    outcome = parse_slack(raw("slack-event.json"))
    assert isinstance(outcome, list)
    (draft,) = outcome
    assert draft.channel is Channel.SLACK
    assert draft.kind is IntakeKind.NEW and draft.reply_to == ()
    assert draft.natural_key == "Ev072R9WQZ1S"
    assert draft.event_time == datetime(2024, 5, 7, 8, 10, 12, tzinfo=UTC)
    assert draft.subject == "Máy in tầng 3 văn phòng Hà Nội báo lỗi kẹt giấy liên tục"  # mention removed
    assert draft.description == (
        "Máy in tầng 3 văn phòng Hà Nội báo lỗi kẹt giấy liên tục\n"
        "Đã thử tắt bật lại nhưng vẫn lỗi, cần kỹ thuật hỗ trợ & thay trục cuốn."
    )
    assert draft.contact.handle == "U04KR1N6L8B"
    assert draft.chat is not None
    assert draft.chat.platform == "slack"
    assert draft.chat.conversation == "C05HD8TQ1UZ"
    assert draft.chat.message_id == "6f1c2a0e-93b4-4d7e-a5c2-8e1f0b6d4a97"
    assert draft.chat.user_id == "U04KR1N6L8B"


def test_slack_code_in_text_makes_a_reply_and_ts_is_the_fallback_id() -> None:
    payload = load("slack-event.json")
    payload["event"] |= {"type": "message", "text": f"cập nhật cho {CODE.lower()}: đã hết lỗi"}
    del payload["event"]["client_msg_id"]
    outcome = parse_slack(dump(payload))
    assert isinstance(outcome, list)
    (draft,) = outcome
    assert draft.kind is IntakeKind.REPLY
    assert draft.reply_to == (CODE,)
    assert draft.chat is not None and draft.chat.message_id == "1715069412.739129"
    long_line = "x" * 200
    payload["event"]["text"] = long_line + "\nsecond"
    outcome = parse_slack(dump(payload))
    assert isinstance(outcome, list)
    (draft,) = outcome
    assert draft.subject == "x" * 120


@pytest.mark.parametrize(
    "change",
    [
        {"bot_id": "B06QHB2M1AA"},
        {"subtype": "bot_message"},
        {"subtype": "message_changed"},
        {"type": "reaction_added"},
    ],
)
def test_slack_ignores_bots_edits_and_other_events(change: dict[str, str]) -> None:
    payload = load("slack-event.json")
    payload["event"] |= change
    assert parse_slack(dump(payload)) == []


def test_slack_ignores_other_envelope_types() -> None:
    assert parse_slack(b'{"type": "app_rate_limited", "team_id": "T1", "minute_rate_limited": 1518467820}') == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"token": "x"}, "type"),
        ({"type": "url_verification"}, "challenge"),
        ({"type": "event_callback", "event_time": 1, "event": {"type": "message"}}, "event_id"),
        ({"type": "event_callback", "event_id": "Ev1", "event_time": 1, "event": {"text": "hi"}}, "event.type"),
    ],
)
def test_slack_missing_fields_are_422(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_slack(dump(payload))
    assert caught.value.status == 422
    assert [e.field for e in caught.value.errors] == [field]


@pytest.mark.parametrize("parse", [parse_slack, parse_teams, parse_zalo])
@pytest.mark.parametrize("body", [b"{", b"", b"[1, 2]", b"\xc3\x28"])
def test_malformed_json_is_400(parse: Any, body: bytes) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(body)
    assert caught.value.status == 400


# Teams


def test_teams_accepts_a_signed_body() -> None:
    body = raw("teams-message.json")
    verify_teams(TEAMS_SECRET, teams_sign(TEAMS_SECRET, body), body)


@pytest.mark.parametrize(
    ("authorization", "why"),
    [
        (None, "missing"),
        ("", "missing"),
        ("HMAC", "missing"),
        ("Bearer abc", "missing"),
        (teams_sign(base64.b64encode(b"another secret").decode(), b"{}"), "does not match"),
        ("HMAC not-base64!!", "does not match"),
    ],
)
def test_teams_refuses(authorization: str | None, why: str) -> None:
    with pytest.raises(BadSignature, match=why) as caught:
        verify_teams(TEAMS_SECRET, authorization, b"{}")
    assert caught.value.status == 401


def test_teams_secret_must_be_base64() -> None:
    with pytest.raises(ValueError, match="not base64"):
        verify_teams("not base64!", "HMAC abc=", b"{}")


_KEYS = st.binary(min_size=1, max_size=64)


@given(key=_KEYS, body=st.binary(min_size=1), index=st.integers(0), delta=st.integers(1, 255))
def test_teams_accepts_any_signed_body_and_refuses_any_changed_byte(
    key: bytes, body: bytes, index: int, delta: int
) -> None:
    secret = base64.b64encode(key).decode()
    authorization = teams_sign(secret, body)
    verify_teams(secret, authorization, body)
    with pytest.raises(BadSignature):
        verify_teams(secret, authorization, one_byte_changed(body, index, delta))


def test_teams_message_maps_every_field() -> None:
    (draft,) = parse_teams(raw("teams-message.json"))
    assert draft.channel is Channel.TEAMS
    assert draft.kind is IntakeKind.NEW
    assert draft.natural_key == "1715070093391"
    assert draft.event_time == datetime(2024, 5, 7, 8, 21, 33, 391000, tzinfo=UTC)
    assert draft.description == "Wi-Fi tầng 2 chi nhánh Hà Nội không vào được mạng từ sáng nay"  # <at> and &nbsp;
    assert draft.subject == draft.description
    assert draft.contact.name == "Trần Thị Bình"
    assert draft.contact.handle == "3f2b8c1e-7a4d-4e9b-9c0f-5d6e7a8b9c01"
    assert draft.chat is not None
    assert draft.chat.platform == "teams"
    assert draft.chat.conversation == "19:8c2d6f4b1e0a4f7c9b3d2e1f0a9b8c7d@thread.tacv2;messageid=1715070093391"
    assert draft.chat.message_id == "1715070093391"
    assert draft.chat.user_id == "3f2b8c1e-7a4d-4e9b-9c0f-5d6e7a8b9c01"


def test_teams_reply_and_handle_without_aad_id() -> None:
    payload = load("teams-message.json")
    payload["text"] = f"<at>Helpdesk</at> <b>{CODE}</b> đã có mạng lại"
    del payload["from"]["aadObjectId"]
    (draft,) = parse_teams(dump(payload))
    assert draft.kind is IntakeKind.REPLY and draft.reply_to == (CODE,)
    assert draft.description == f"{CODE} đã có mạng lại"
    assert draft.contact.handle == payload["from"]["id"]


def test_teams_other_activities_and_missing_fields() -> None:
    payload = load("teams-message.json")
    assert parse_teams(dump(payload | {"type": "conversationUpdate"})) == []
    del payload["from"]
    with pytest.raises(InvalidInput) as caught:
        parse_teams(dump(payload))
    assert caught.value.status == 422
    assert [e.field for e in caught.value.errors] == ["from"]


# Zalo


def test_zalo_accepts_the_documented_scheme() -> None:
    body = raw("zalo-user-send-text.json")
    verify_zalo(ZALO_APP, ZALO_SECRET, zalo_sign(ZALO_APP, body, ZALO_SECRET), body)
    bare_upper = zalo_sign(ZALO_APP, body, ZALO_SECRET).removeprefix("mac=").upper()
    verify_zalo(ZALO_APP, ZALO_SECRET, bare_upper, body)


@pytest.mark.parametrize(
    ("header", "body_change", "why"),
    [
        (None, {}, "missing"),
        ("  ", {}, "missing"),
        ("mac=" + "0" * 64, {}, "does not match"),
        (zalo_sign(ZALO_APP, raw("zalo-user-send-text.json"), "another secret"), {}, "does not match"),
        ("sign", {"app_id": "1111111111111111111"}, "another Zalo app"),
        ("sign", {"timestamp": None}, "no timestamp"),
    ],
)
def test_zalo_refuses(header: str | None, body_change: dict[str, Any], why: str) -> None:
    payload = load("zalo-user-send-text.json") | body_change
    body = dump({k: v for k, v in payload.items() if v is not None})
    if header == "sign":  # correctly signed, but for the app id the body names
        header = zalo_sign(payload["app_id"], body, ZALO_SECRET) if payload.get("timestamp") else "mac=00"
    with pytest.raises(BadSignature, match=why) as caught:
        verify_zalo(ZALO_APP, ZALO_SECRET, header, body)
    assert caught.value.status == 401


@given(text=st.text(), secret=st.text(min_size=1), index=st.integers(0), delta=st.integers(1, 255))
def test_zalo_accepts_any_signed_body_and_refuses_any_changed_byte(
    text: str, secret: str, index: int, delta: int
) -> None:
    payload = load("zalo-user-send-text.json")
    payload["message"]["text"] = text
    body = dump(payload)
    header = zalo_sign(ZALO_APP, body, secret)
    verify_zalo(ZALO_APP, secret, header, body)
    with pytest.raises(BadSignature):
        verify_zalo(ZALO_APP, secret, header, one_byte_changed(body, index, delta))


def test_zalo_text_maps_every_field() -> None:
    (draft,) = parse_zalo(raw("zalo-user-send-text.json"))
    assert draft.channel is Channel.ZALO
    assert draft.kind is IntakeKind.NEW
    assert draft.natural_key == "9d0b5c0a3f34e1e2b8c4a76d05a1f9e8c1bd7f64"
    assert draft.event_time == datetime(2024, 5, 7, 9, 2, 21, 873000, tzinfo=UTC)
    assert draft.subject == "Chào shop, camera cửa hàng 45 Lê Lợi Q1 mất hình từ tối qua."
    assert draft.description.endswith("\nNhờ kỹ thuật qua kiểm tra giúp.")
    assert draft.contact.handle == "8127635097318264511"
    assert draft.chat is not None
    assert (draft.chat.platform, draft.chat.conversation) == ("zalo", "579745863508352884")
    assert (draft.chat.message_id, draft.chat.user_id) == (draft.natural_key, "8127635097318264511")


def test_zalo_code_in_text_makes_a_reply() -> None:
    payload = load("zalo-user-send-text.json")
    payload["message"]["text"] = f"Phiếu {CODE} vẫn chưa xử lý xong"
    (draft,) = parse_zalo(dump(payload))
    assert draft.kind is IntakeKind.REPLY and draft.reply_to == (CODE,)


def test_zalo_image_and_file_attachments() -> None:
    payload = load("zalo-user-send-text.json")
    payload["event_name"] = "user_send_file"
    payload["message"] = {
        "msg_id": "f1",
        "attachments": [
            {
                "type": "file",
                "payload": {
                    "url": "https://f21-zfcloud.zdn.vn/abc/nhat-ky-loi.pdf",
                    "name": "nhat-ky-loi.pdf",
                    "size": "233947",
                    "checksum": "db8f0a790d28e3d8658a0ff0846189",
                    "type": "pdf",
                },
            }
        ],
    }
    (draft,) = parse_zalo(dump(payload))
    (attachment,) = draft.attachments
    assert (attachment.filename, attachment.content_type, attachment.size_bytes) == (
        "nhat-ky-loi.pdf",
        "application/pdf",
        233947,
    )
    assert attachment.url == "https://f21-zfcloud.zdn.vn/abc/nhat-ky-loi.pdf"
    assert draft.subject == "sent nhat-ky-loi.pdf"

    payload["event_name"] = "user_send_image"
    payload["message"] = {
        "msg_id": "i1",
        "text": "ảnh màn hình lỗi",
        "attachments": [
            {"type": "image", "payload": {"url": "https://photo-stal-1.zdn.vn/a/b/loi.jpg?v=1", "thumbnail": "t"}}
        ],
    }
    (draft,) = parse_zalo(dump(payload))
    (attachment,) = draft.attachments
    assert (attachment.filename, attachment.content_type, attachment.size_bytes) == ("loi.jpg", "image/jpeg", 0)
    assert draft.subject == "ảnh màn hình lỗi"


@pytest.mark.parametrize("event", ["follow", "user_seen_message", "oa_send_text"])
def test_zalo_other_events_are_ignored(event: str) -> None:
    assert parse_zalo(dump(load("zalo-user-send-text.json") | {"event_name": event})) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: p["message"].pop("msg_id"), "message.msg_id"),
        (lambda p: p.update(timestamp="hôm qua"), "timestamp"),
        (lambda p: p.pop("sender"), "sender"),
        (lambda p: p.pop("event_name"), "event_name"),
    ],
)
def test_zalo_missing_or_wrong_fields_are_422(change: Any, field: str) -> None:
    payload = load("zalo-user-send-text.json")
    change(payload)
    with pytest.raises(InvalidInput) as caught:
        parse_zalo(dump(payload))
    assert caught.value.status == 422
    assert [e.field for e in caught.value.errors] == [field]


@pytest.mark.parametrize(
    ("platform", "sent_at"),
    [
        ("Zalo", zalo_sent_at(b'{"timestamp": "1796000000000"}')),
        ("Teams", teams_sent_at(b'{"timestamp": "2026-11-30T08:00:00.000Z"}')),
    ],
)
def test_a_signed_event_older_than_the_tolerance_is_a_replay(platform: str, sent_at: float | None) -> None:
    assert sent_at is not None
    check_fresh(platform, sent_at, sent_at + 299, 300)  # within: accepted
    with pytest.raises(BadSignature, match=f"stale {platform} event"):
        check_fresh(platform, sent_at, sent_at + 301, 300)
    with pytest.raises(BadSignature):
        check_fresh(platform, sent_at, sent_at - 301, 300)  # from the future is no better


def test_an_event_that_does_not_say_when_it_was_sent_is_not_judged_by_age() -> None:
    assert teams_sent_at(b'{"type": "message"}') is None
    assert teams_sent_at(b'{"timestamp": "2026-11-30T08:00:00"}') is None  # no zone: not a moment
    check_fresh("Teams", None, 1e10, 300)
