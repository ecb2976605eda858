"""Knowledge base use cases (docs/knowledge.md): write and revise articles (every version kept),
search, suggest articles for a ticket at triage, link one to a ticket, and publish one from a
resolved ticket's root cause."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.domain.taxonomy import Category
from core.domain.text import StorableText
from core.errors import Conflict, InvalidInput, NotFound
from core.knowledge.domain import (
    Article,
    ArticleDraft,
    Revision,
    Tags,
    from_ticket,
    search_query,
    suggestion_query,
)
from core.knowledge.store import Found, KnowledgeTx, PgKnowledgeStore
from core.settings import first_error
from core.tickets.domain.model import EventDraft
from core.tickets.service import canonical


class PublishRequest(BaseModel):
    """Publish an article from a resolved ticket: its symptom, root cause and fix."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: StorableText | None = Field(default=None, min_length=3, max_length=200)
    tags: Tags = Field(default_factory=list)


class KnowledgeService:
    def __init__(self, store: PgKnowledgeStore) -> None:
        self.store = store

    async def create(self, draft: ArticleDraft, who: str) -> Article:
        async with self.store.writing() as tx:
            return await _created(tx, draft, who, datetime.now(UTC), None)

    async def revise(self, article_id: UUID, rev: Revision, who: str) -> Article:
        now = datetime.now(UTC)
        async with self.store.writing() as tx:
            current = await tx.article(article_id, lock=True)
            if current is None:
                raise NotFound(f"no article {article_id}")
            if rev.version != current.version:
                raise Conflict(
                    f"the article is at version {current.version}; this edit starts from {rev.version}: read it again"
                )
            draft = ArticleDraft.model_validate(rev.model_dump(exclude={"version", "note"}))
            await tx.write(article_id, current.version + 1, draft, who, now, rev.note, current.source_ticket)
            revised = await tx.article(article_id)
        assert revised is not None
        return revised

    async def get(self, article_id: UUID) -> Article:
        async with self.store.reading() as tx:
            article = await tx.article(article_id)
        if article is None:
            raise NotFound(f"no article {article_id}")
        return article

    async def versions(self, article_id: UUID) -> list[dict[str, Any]]:
        await self.get(article_id)
        return await self.store.versions(article_id)

    async def search(self, q: str, limit: int, category: str | None = None) -> list[Found]:
        return await self.store.search(search_query(q), limit, only_category=category)

    async def suggest(self, code: str, limit: int) -> list[Found]:
        """Articles for a ticket at triage, from its subject and description; the same category
        (its team) and the same asset model rank higher."""
        async with self.store.reading() as tx:
            ticket = await tx.ticket(canonical(code))
            if ticket is None:
                raise NotFound(f"no ticket {code}")
            model = await tx.asset_model(ticket.asset_serial)
        query = suggestion_query(f"{ticket.subject} {ticket.description}")
        if query is None:
            return []
        return await self.store.search(query, limit, category=ticket.team, asset_model=model)

    async def link(self, code: str, article_id: UUID, who: str) -> bool:
        """Record that the article helped with the ticket (an `article_linked` event); False: linked before."""
        now = datetime.now(UTC)
        async with self.store.writing() as tx:
            ticket = await tx.locked_ticket(canonical(code))
            if ticket is None:
                raise NotFound(f"no ticket {code}")
            article = await tx.article(article_id)
            if article is None:
                raise NotFound(f"no article {article_id}")
            return await _linked(tx, ticket.code, article, who, now)

    async def publish_from_ticket(self, code: str, req: PublishRequest, who: str) -> Article:
        """The article and its link to the ticket in one transaction: never one without the other."""
        now = datetime.now(UTC)
        async with self.store.writing() as tx:
            ticket = await tx.locked_ticket(canonical(code))
            if ticket is None:
                raise NotFound(f"no ticket {code}")
            model = await tx.asset_model(ticket.asset_serial)
            title, body = from_ticket(
                ticket.status.value,
                ticket.subject,
                ticket.description,
                ticket.root_cause,
                ticket.actions_taken,
                req.title,
            )
            category = Category(ticket.team) if ticket.team in Category._value2member_map_ else None
            try:
                draft = ArticleDraft(title=title, body=body, category=category, asset_model=model, tags=req.tags)
            except ValidationError as exc:  # a subject too short for a title, say: ask for one
                raise InvalidInput(
                    f"the ticket does not make an article by itself ({first_error(exc)}); give a title"
                ) from None
            article = await _created(tx, draft, who, now, ticket.code)
            await _linked(tx, ticket.code, article, who, now)
            return article


async def _created(tx: KnowledgeTx, draft: ArticleDraft, who: str, now: datetime, source: str | None) -> Article:
    """A new article at version 1 (`source`: the ticket it was written from), as stored."""
    article_id = uuid4()
    await tx.write(article_id, 1, draft, who, now, "created", source)
    article = await tx.article(article_id)
    assert article is not None
    return article


async def _linked(tx: KnowledgeTx, code: str, article: Article, who: str, now: datetime) -> bool:
    """Link the article to the locked ticket, with its `article_linked` event; False: linked before."""
    if not await tx.link(code, article.id, who, now):
        return False
    data = {"article_id": str(article.id), "title": article.title, "version": article.version}
    await tx.append(code, [EventDraft(kind="article_linked", actor=who, at=now, data=data)])
    return True
