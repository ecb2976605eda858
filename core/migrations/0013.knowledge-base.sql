-- depends: 0012.onsite-dispatch
-- The knowledge base and runbooks (core.knowledge): articles, every version of each, and the
-- tickets they helped. `search_text` is the article folded by the service (lower case, no
-- diacritics: 'Mất kết nối' -> 'mat ket noi'), so a search typed without diacritics finds it; the
-- 'simple' configuration keeps Vietnamese syllables as they are (no stemming for a language
-- PostgreSQL does not know).
CREATE TABLE kb_articles (
    id             uuid PRIMARY KEY,
    version        integer NOT NULL CHECK (version >= 1),
    title          text NOT NULL,
    body           text NOT NULL,
    category       text,
    asset_model    text,
    tags           text[] NOT NULL DEFAULT '{}',
    source_ticket  text REFERENCES tickets (code),
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_by     text NOT NULL,
    updated_at     timestamptz NOT NULL,
    search_text    text NOT NULL,
    search         tsvector GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED
);
CREATE INDEX kb_articles_search ON kb_articles USING gin (search);

CREATE TABLE kb_article_versions (
    article_id   uuid NOT NULL REFERENCES kb_articles (id),
    version      integer NOT NULL,
    title        text NOT NULL,
    body         text NOT NULL,
    category     text,
    asset_model  text,
    tags         text[] NOT NULL,
    edited_by    text NOT NULL,
    edited_at    timestamptz NOT NULL,
    note         text NOT NULL DEFAULT '',
    PRIMARY KEY (article_id, version)
);

CREATE TABLE ticket_articles (
    ticket_code  text NOT NULL REFERENCES tickets (code),
    article_id   uuid NOT NULL REFERENCES kb_articles (id),
    linked_by    text NOT NULL,
    linked_at    timestamptz NOT NULL,
    PRIMARY KEY (ticket_code, article_id)
);
