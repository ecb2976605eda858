-- The drill ledger's copy in PostgreSQL: one row per signed drill report, hash-chained.
-- The files in the drill archive are the primary record; this copy is replicated to both sites
-- and append-only, so removing or editing an entry in one place shows up when the two disagree
-- (`ccdr drill verify`).
-- depends: 0003.failover-agents

CREATE TABLE drill_ledger (
    seq          integer PRIMARY KEY CHECK (seq > 0),
    report_id    text NOT NULL UNIQUE,
    entry        jsonb NOT NULL,           -- the ledger entry exactly as in the file
    entry_hash   text NOT NULL CHECK (entry_hash ~ '^[0-9a-f]{64}$'),
    recorded_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION drill_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the drill ledger is append-only: % refused (entry %)', TG_OP, OLD.seq;
END;
$$;

CREATE TRIGGER drill_ledger_append_only BEFORE UPDATE OR DELETE ON drill_ledger
    FOR EACH ROW EXECUTE FUNCTION drill_ledger_append_only();

