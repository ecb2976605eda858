"""PostgreSQL adapter of the knowledge base (core.knowledge.service)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from core.knowledge.domain import Article, ArticleDraft, search_text
from core.tickets.domain.model import EventDraft, Ticket
from core.tickets.store import repository as repo

_ARTICLE = """id, version, title, body, category, asset_model, tags, source_ticket, created_by, created_at,
              updated_by, updated_at"""
Conn = repo.Conn


@dataclass(frozen=True)
class Found:
    article: Article
    rank: float


@dataclass
class KnowledgeTx:
    conn: Conn

    async def article(self, article_id: UUID, *, lock: bool = False) -> Article | None:
        cur = self.conn.cursor(row_factory=dict_row)
        sql = f"SELECT {_ARTICLE} FROM kb_articles WHERE id = %s{' FOR UPDATE' if lock else ''}"
        row = await (await cur.execute(sql, (article_id,))).fetchone()
        return Article.model_validate(row) if row else None

    async def write(
        self, article_id: UUID, version: int, draft: ArticleDraft, who: str, at: datetime, note: str, source: str | None
    ) -> None:
        values = {
            "id": article_id,
            "version": version,
            "title": draft.title,
            "body": draft.body,
            "category": draft.category.value if draft.category else None,
            "asset_model": draft.asset_model,
            "tags": draft.tags,
            "who": who,
            "at": at,
            "note": note,
            "search_text": search_text(draft),
            "source": source,
        }
        await self.conn.execute(
            """INSERT INTO kb_articles (id, version, title, body, category, asset_model, tags, source_ticket,
                                        created_by, created_at, updated_by, updated_at, search_text)
               VALUES (%(id)s, %(version)s, %(title)s, %(body)s, %(category)s, %(asset_model)s, %(tags)s, %(source)s,
                       %(who)s, %(at)s, %(who)s, %(at)s, %(search_text)s)
               ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, title = EXCLUDED.title,
                   body = EXCLUDED.body, category = EXCLUDED.category, asset_model = EXCLUDED.asset_model,
                   tags = EXCLUDED.tags, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at,
                   search_text = EXCLUDED.search_text""",
            values,
        )
        await self.conn.execute(
            """INSERT INTO kb_article_versions (article_id, version, title, body, category, asset_model, tags,
                                                edited_by, edited_at, note)
               VALUES (%(id)s, %(version)s, %(title)s, %(body)s, %(category)s, %(asset_model)s, %(tags)s,
                       %(who)s, %(at)s, %(note)s)""",
            values,
        )

    async def ticket(self, code: str) -> Ticket | None:
        return await repo.get_ticket(self.conn, code)

    async def locked_ticket(self, code: str) -> Ticket | None:
        return await repo.get_ticket(self.conn, code, for_update=True)

    async def asset_model(self, serial: str | None) -> str | None:
        if not serial:
            return None
        row = await (await self.conn.execute("SELECT model FROM assets WHERE serial = %s", (serial,))).fetchone()
        return str(row[0]) if row and row[0] else None

    async def link(self, code: str, article_id: UUID, who: str, at: datetime) -> bool:
        """False: linked before."""
        row = await (
            await self.conn.execute(
                """INSERT INTO ticket_articles (ticket_code, article_id, linked_by, linked_at) VALUES (%s, %s, %s, %s)
                   ON CONFLICT DO NOTHING RETURNING article_id""",
                (code, article_id, who, at),
            )
        ).fetchone()
        return row is not None

    async def append(self, code: str, events: list[EventDraft]) -> None:
        await repo.append_events(self.conn, code, events)


@dataclass
class PgKnowledgeStore:
    pool: AsyncConnectionPool[Any]

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[KnowledgeTx]:
        async with self.pool.connection() as conn, conn.transaction():
            yield KnowledgeTx(conn)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[KnowledgeTx]:
        async with self.pool.connection() as conn:
            yield KnowledgeTx(conn)

    async def versions(self, article_id: UUID) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            rows = await (
                await cur.execute(
                    """SELECT version, title, body, category, asset_model, tags, edited_by, edited_at, note
                         FROM kb_article_versions WHERE article_id = %s ORDER BY version""",
                    (article_id,),
                )
            ).fetchall()
            return list(rows)

    async def search(
        self,
        tsquery: str,
        limit: int,
        *,
        category: str | None = None,
        asset_model: str | None = None,
        only_category: str | None = None,
    ) -> list[Found]:
        """Articles matching `tsquery` (and `only_category`), best first: text rank, plus one for
        the same category and one for the same asset model."""
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            rows = await (
                await cur.execute(
                    f"""SELECT {_ARTICLE},
                               ts_rank(search, to_tsquery('simple', %(q)s))
                               + CASE WHEN %(category)s::text IS NOT NULL AND category = %(category)s THEN 1 ELSE 0 END
                               + CASE WHEN %(model)s::text IS NOT NULL AND asset_model = %(model)s THEN 1 ELSE 0 END
                               AS rank
                          FROM kb_articles
                         WHERE search @@ to_tsquery('simple', %(q)s)
                           AND (%(only)s::text IS NULL OR category = %(only)s)
                         ORDER BY rank DESC, updated_at DESC
                         LIMIT %(limit)s""",
                    {"q": tsquery, "category": category, "model": asset_model, "only": only_category, "limit": limit},
                )
            ).fetchall()
            return [
                Found(Article.model_validate({k: v for k, v in r.items() if k != "rank"}), float(r["rank"]))
                for r in rows
            ]

    async def linked(self, code: str) -> list[Article]:
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            rows = await (
                await cur.execute(
                    f"""SELECT {_ARTICLE} FROM kb_articles WHERE id IN
                            (SELECT article_id FROM ticket_articles WHERE ticket_code = %s) ORDER BY title""",
                    (code,),
                )
            ).fetchall()
            return [Article.model_validate(r) for r in rows]
