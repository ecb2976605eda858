"""The customer's status link: only the key's holder can make one, for one ticket only."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from core.domain.status_links import TAG_CHARS, status_link, status_tag, tag_matches

KEY = "k" * 43
CODE = "INC-2026-1207-0042"


def test_a_link_made_with_the_key_opens_its_ticket() -> None:
    link = urlsplit(status_link("https://desk.example.vn/", KEY, CODE))
    assert (link.scheme, link.netloc, link.path) == ("https", "desk.example.vn", f"/status/{CODE}")
    tag = parse_qs(link.query)["k"][0]
    assert len(tag) == TAG_CHARS
    assert tag_matches(KEY, CODE, tag)


def test_a_tag_does_not_open_another_ticket() -> None:
    assert not tag_matches(KEY, "INC-2026-1207-0043", status_tag(KEY, CODE))


def test_a_tag_made_with_another_key_is_refused() -> None:
    assert not tag_matches(KEY, CODE, status_tag("another-key-" + KEY, CODE))


def test_a_tag_altered_in_one_character_or_cut_short_is_refused() -> None:
    tag = status_tag(KEY, CODE)
    altered = tag[:-1] + ("A" if tag[-1] != "A" else "B")
    assert not tag_matches(KEY, CODE, altered)
    assert not tag_matches(KEY, CODE, tag[:-1])
    assert not tag_matches(KEY, CODE, "")


def test_the_code_is_quoted_in_the_path() -> None:
    assert "/status/a%2Fb?" in status_link("https://d", KEY, "a/b")
