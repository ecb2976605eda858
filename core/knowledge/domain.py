"""Knowledge-base articles and runbooks: what an article is, how it is folded for search, and the
article an engineer publishes from a resolved ticket. Pure: no I/O.

Search works without diacritics: the article and the query are folded alike (core.domain.routing
`fold`: 'Đổi mật khẩu VPN' -> 'doi mat khau vpn'). A search wants every word of the query; a
suggestion at triage wants any word of the ticket's text, ranked by how many match, with the
ticket's category and asset model counting extra."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from core.domain.routing import fold
from core.domain.taxonomy import Category
from core.domain.text import StorableText
from core.errors import Conflict, InvalidInput

TAG = r"^[a-z0-9][a-z0-9._-]{0,49}$"
SUGGEST_WORDS = 30  # the ticket's most telling words: more make the query slow and no better
MIN_WORD = 2  # Vietnamese syllables are short ('may', 'in', 'ket'): keep two letters and up
_WORD = re.compile(r"[a-z0-9]+")
# Words too common in tickets to say anything about which article helps.
STOPWORDS = frozenset(
    {
        "va",
        "la",
        "cua",
        "cho",
        "co",
        "khong",
        "bi",
        "da",
        "dang",
        "duoc",
        "voi",
        "tu",
        "tai",
        "the",
        "nay",
        "mot",
        "cac",
        "nhung",
        "trong",
        "khi",
        "thi",
        "and",
        "for",
        "with",
        "from",
        "not",
        "are",
        "was",
        "this",
        "that",
        "have",
        "has",
        "please",
        "help",
        "loi",
        "su",
    }
)


def checked_tags(tags: list[str]) -> list[str]:
    bad = [t for t in tags if not re.fullmatch(TAG, t)]
    if bad:
        raise ValueError(f"tags: lower-case letters, digits, '.', '_' or '-' only: {', '.join(bad[:3])}")
    return sorted(set(tags))


Tags = Annotated[list[str], Field(max_length=20), AfterValidator(checked_tags)]


class ArticleDraft(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    title: StorableText = Field(min_length=3, max_length=200)
    body: StorableText = Field(min_length=1, max_length=50_000)
    category: Category | None = None
    asset_model: StorableText | None = Field(default=None, min_length=1, max_length=100)
    tags: Tags = Field(default_factory=list)


class Revision(ArticleDraft):
    """A new version of an article, made from the version the editor read (else: 409)."""

    version: int = Field(ge=1)  # the version this edit starts from
    note: StorableText = Field(default="", max_length=500)


class Article(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    version: int
    title: str
    body: str
    category: str | None
    asset_model: str | None
    tags: list[str]
    source_ticket: str | None
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime


def search_text(draft: ArticleDraft) -> str:
    parts = [draft.title, " ".join(draft.tags), draft.category or "", draft.asset_model or "", draft.body]
    return fold(" ".join(parts))


def words(text: str) -> list[str]:
    """The folded words of `text` that can tell articles apart, first seen first, each once."""
    seen: dict[str, None] = {}
    for w in _WORD.findall(fold(text)):
        if len(w) >= MIN_WORD and w not in STOPWORDS:
            seen.setdefault(w, None)
    return list(seen)


def search_query(q: str) -> str:
    """A tsquery wanting every word of `q` (folded); a query with none is refused."""
    found = words(q)
    if not found:
        raise InvalidInput("q: give at least one word of two letters or more")
    return " & ".join(found[:SUGGEST_WORDS])


def suggestion_query(text: str) -> str | None:
    """A tsquery wanting any of the ticket's words (None: the ticket says nothing to search by)."""
    found = words(text)[:SUGGEST_WORDS]
    return " | ".join(found) if found else None


def from_ticket(
    status: str, subject: str, description: str, root_cause: str | None, actions: str | None, title: str | None
) -> tuple[str, str]:
    """The title and body of an article published from a resolved ticket's root cause."""
    if status not in ("resolved", "closed"):
        raise Conflict(f"an article is published from a resolved ticket; this one is {status}")
    if not root_cause:
        raise Conflict("the ticket has no root cause to publish")
    body = "\n\n".join(
        [
            f"Triệu chứng / Symptom:\n{description.strip() or subject}",
            f"Nguyên nhân / Root cause:\n{root_cause.strip()}",
            f"Cách khắc phục / Fix:\n{(actions or '-').strip()}",
        ]
    )
    return (title or subject)[:200], body
