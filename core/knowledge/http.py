"""Knowledge-base routes (docs/knowledge.md). Thin: parse, call the service, shape the answer.
Everyone signed in reads and searches; L2/L3 engineers, supervisors and SREs write."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from core.agents.domain.model import Permission, Session
from core.agents.http.router import Authenticate
from core.agents.service import acting_as
from core.domain.taxonomy import Category
from core.domain.text import StorableText
from core.knowledge.domain import Article, ArticleDraft, Revision
from core.knowledge.service import KnowledgeService, PublishRequest
from core.knowledge.store import Found

SEARCH_LIMIT = 50


class Hit(BaseModel):
    article: Article
    rank: float


class Hits(BaseModel):
    articles: list[Hit]


class LinkRequest(BaseModel):
    article_id: UUID


def _hits(found: list[Found]) -> Hits:
    return Hits(articles=[Hit(article=f.article, rank=round(f.rank, 4)) for f in found])


def build_knowledge_router(service: KnowledgeService, authenticate: Authenticate) -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=[Depends(authenticate)])
    Auth = Annotated[Session, Depends(authenticate)]

    @router.post("/kb/articles", response_model=Article, status_code=201)
    async def create(draft: ArticleDraft, session: Auth) -> Article:
        return await service.create(draft, acting_as(session, Permission.PUBLISH_KNOWLEDGE))

    @router.get("/kb/articles", response_model=Hits)
    async def search(
        q: Annotated[
            StorableText, Query(min_length=1, max_length=200, description="words, with or without diacritics")
        ],
        category: Category | None = None,
        limit: Annotated[int, Query(ge=1, le=SEARCH_LIMIT)] = 20,
    ) -> Hits:
        return _hits(await service.search(q, limit, category.value if category else None))

    @router.get("/kb/articles/{article_id}", response_model=Article)
    async def get(article_id: UUID) -> Article:
        return await service.get(article_id)

    @router.put("/kb/articles/{article_id}", response_model=Article)
    async def revise(article_id: UUID, rev: Revision, session: Auth) -> Article:
        """A new version from the one the editor read (`version`); 409 when someone edited it meanwhile."""
        return await service.revise(article_id, rev, acting_as(session, Permission.PUBLISH_KNOWLEDGE))

    @router.get("/kb/articles/{article_id}/versions")
    async def versions(article_id: UUID) -> dict[str, Any]:
        return {"versions": await service.versions(article_id)}

    @router.get("/tickets/{code}/suggested-articles", response_model=Hits)
    async def suggested(code: str, limit: Annotated[int, Query(ge=1, le=SEARCH_LIMIT)] = 5) -> Hits:
        return _hits(await service.suggest(code, limit))

    @router.post("/tickets/{code}/articles")
    async def link(code: str, req: LinkRequest, session: Auth) -> dict[str, bool]:
        return {"linked": await service.link(code, req.article_id, acting_as(session, Permission.WORK_TICKETS))}

    @router.post("/tickets/{code}/article", response_model=Article, status_code=201)
    async def publish(code: str, req: PublishRequest, session: Auth) -> Article:
        """Publish an article from the resolved ticket's symptom, root cause and fix, linked to it."""
        return await service.publish_from_ticket(code, req, acting_as(session, Permission.PUBLISH_KNOWLEDGE))

    return router
