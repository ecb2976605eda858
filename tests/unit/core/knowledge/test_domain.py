"""The knowledge base's pure rules: folding for search without diacritics, the queries, and the
article made from a resolved ticket."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.errors import Conflict, InvalidInput
from core.knowledge.domain import ArticleDraft, from_ticket, search_query, search_text, suggestion_query, words


def test_an_article_is_searchable_by_words_typed_without_diacritics() -> None:
    draft = ArticleDraft(
        title="Đổi mật khẩu VPN khi tài khoản bị khoá",
        body="Vào cổng tự phục vụ, chọn Đặt lại.",
        category="network",
        asset_model="FortiGate 200F",
        tags=["vpn", "fortigate"],
    )
    text = search_text(draft)
    assert "doi mat khau vpn" in text and "fortigate 200f" in text and "network" in text
    assert search_query("mật khẩu VPN") == search_query("mat khau vpn") == "mat & khau & vpn"


def test_a_query_with_nothing_to_search_by_is_refused() -> None:
    with pytest.raises(InvalidInput, match="at least one word"):
        search_query("? ! và")


def test_a_suggestion_wants_any_telling_word_of_the_ticket_each_once() -> None:
    assert words("Mất kết nối VPN, mất kết nối wifi và lỗi") == ["mat", "ket", "noi", "vpn", "wifi"]
    assert suggestion_query("Mất kết nối VPN") == "mat | ket | noi | vpn"
    assert suggestion_query("và là của") is None


def test_tags_are_lower_case_words_kept_once_in_order() -> None:
    assert ArticleDraft(title="abc", body="x", tags=["vpn", "fw", "vpn"]).tags == ["fw", "vpn"]
    with pytest.raises(ValidationError, match="lower-case letters"):
        ArticleDraft(title="abc", body="x", tags=["VPN access"])


def test_an_article_from_a_ticket_needs_it_resolved_with_a_root_cause() -> None:
    title, body = from_ticket(
        "resolved", "Camera cổng 3 mất hình", "Mất hình từ 9h", "Nguồn PoE hỏng", "Thay PoE", None
    )
    assert title == "Camera cổng 3 mất hình"
    assert "Triệu chứng / Symptom:\nMất hình từ 9h" in body
    assert "Nguyên nhân / Root cause:\nNguồn PoE hỏng" in body and "Cách khắc phục / Fix:\nThay PoE" in body
    with pytest.raises(Conflict, match="from a resolved ticket; this one is in_progress"):
        from_ticket("in_progress", "s", "d", "cause", None, None)
    with pytest.raises(Conflict, match="no root cause"):
        from_ticket("closed", "s", "d", None, None, None)
