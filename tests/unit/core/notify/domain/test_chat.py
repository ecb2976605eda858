"""Replies on chat: the request each platform's API takes, and what its answer means."""

from __future__ import annotations

import pytest

from core.notify.domain.chat import ZALO_TEXT_MAX, Outcome, can_reply, chat_request, outcome
from core.notify.domain.rules import ChatTarget

SLACK = ChatTarget(platform="slack", conversation="C024BE91L", user_id="U2147483697")
ZALO = ChatTarget(platform="zalo", conversation="oa-579745863508352884", user_id="2468458835296117922")
TEAMS = ChatTarget(platform="teams", conversation="19:meeting_abc@thread.v2", user_id="29:1abc")


def test_slack_gets_the_channel_and_the_text_mentioning_the_customer() -> None:
    request = chat_request(SLACK, "[INC-1] Đã tiếp nhận")
    assert request.path == "/chat.postMessage"
    assert request.body == {"channel": "C024BE91L", "text": "<@U2147483697> [INC-1] Đã tiếp nhận"}


def test_zalo_gets_the_user_and_a_text_within_its_limit() -> None:
    request = chat_request(ZALO, "x" * (ZALO_TEXT_MAX + 50))
    assert request.path == "/v3.0/oa/message/cs"
    assert request.body["recipient"] == {"user_id": "2468458835296117922"}
    text = request.body["message"]["text"]
    assert len(text) == ZALO_TEXT_MAX and text.endswith("…")


def test_only_a_known_platform_with_somewhere_to_write_is_replied_to() -> None:
    assert can_reply(SLACK) and can_reply(ZALO) and can_reply(TEAMS)
    assert not can_reply(ChatTarget(platform="teams", conversation=None, user_id="29:x"))
    assert not can_reply(ChatTarget(platform="slack", conversation=None, user_id="U1"))
    assert not can_reply(ChatTarget(platform="zalo", conversation="oa", user_id=None))
    assert not can_reply(ChatTarget(platform="viber", conversation="c", user_id="u"))
    assert not can_reply(None)
    with pytest.raises(ValueError, match="no replies on viber"):
        chat_request(ChatTarget(platform="viber", conversation="c"), "x")


def test_teams_gets_a_message_activity_in_the_conversation_its_id_quoted_in_the_path() -> None:
    request = chat_request(TEAMS, "[INC-1] Đã tiếp nhận")
    assert request.path == "/v3/conversations/19%3Ameeting_abc%40thread.v2/activities"
    assert request.body == {"type": "message", "text": "[INC-1] Đã tiếp nhận"}


@pytest.mark.parametrize(
    ("platform", "status", "body", "expected"),
    [
        ("slack", 200, {"ok": True, "ts": "1.2"}, Outcome.SENT),
        ("slack", 200, {"ok": False, "error": "channel_not_found"}, Outcome.REFUSED),
        ("slack", 200, {"ok": False, "error": "invalid_auth"}, Outcome.RETRY),  # our token: fixed by us, never skipped
        ("slack", 200, {"ok": False, "error": "ratelimited"}, Outcome.RETRY),
        ("slack", 429, None, Outcome.RETRY),
        ("slack", 503, None, Outcome.RETRY),
        ("slack", 404, "<html>", Outcome.REFUSED),
        ("zalo", 200, {"error": 0, "message": "Success"}, Outcome.SENT),
        ("zalo", 200, {"error": -213, "message": "User has not followed the OA"}, Outcome.REFUSED),
        ("zalo", 200, "not json", Outcome.REFUSED),
        ("zalo", 502, None, Outcome.RETRY),
        ("zalo", 200, {"error": -216, "message": "Access token is invalid"}, Outcome.RETRY),
        ("teams", 201, {"id": "1"}, Outcome.SENT),
        ("teams", 401, None, Outcome.RETRY),  # the bot's credential: ours to fix, never skipped
        ("teams", 404, {"error": {"code": "ConversationNotFound"}}, Outcome.REFUSED),
    ],
)
def test_what_an_answer_means(platform: str, status: int, body: object, expected: Outcome) -> None:
    assert outcome(platform, status, body)[0] is expected


def test_a_refusal_keeps_the_platforms_reason() -> None:
    assert outcome("slack", 200, {"ok": False, "error": "not_in_channel"}) == (Outcome.REFUSED, "not_in_channel")
    verdict, detail = outcome("zalo", 200, {"error": -213, "message": "User has not followed the OA"})
    assert verdict is Outcome.REFUSED and detail == "-213: User has not followed the OA"
