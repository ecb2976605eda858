"""The quarantine must always be able to record why: an error may quote the refused input."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.tickets.store.quarantine import ERROR_MAX_CHARS, storable_text


@given(st.text(alphabet=st.characters(exclude_categories=()), max_size=3 * ERROR_MAX_CHARS))  # surrogates too
def test_any_error_text_becomes_storable(error: str) -> None:
    text = storable_text(error)
    assert "\x00" not in text
    text.encode("utf-8")  # no lone surrogate left: PostgreSQL could not take one
    assert len(text) <= 6 * ERROR_MAX_CHARS  # cut first; an escape (\\udXXX) is at most 6 characters


def test_a_nul_and_a_surrogate_are_escaped_readably() -> None:
    assert storable_text("a\x00b\ud800c") == "a\\x00b\\ud800c"
