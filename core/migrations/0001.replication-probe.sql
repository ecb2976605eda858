-- The first schema object: a probe table the lab and the drills write through the primary
-- and read back on the standby to prove synchronous replication end to end.
CREATE TABLE replication_probe (
    id          bigserial PRIMARY KEY,
    token       text        NOT NULL UNIQUE,
    written_at  timestamptz NOT NULL DEFAULT now(),
    written_on  text        NOT NULL DEFAULT inet_server_addr()::text
);
