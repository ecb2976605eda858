-- depends: 0017.site-visits-by-ticket
-- Replies and cleared alerts that name a ticket not there yet, held for it (core.tickets.domain.batch):
-- a hedge across a lost lane can deliver an event ahead of its ticket's own intake. A held event is
-- not in the intake ledger; the worker plans it again until its ticket appears or `hold_until`
-- passes, then applies it and deletes the row in the same transaction.
CREATE TABLE held_intakes (
    intake_id       uuid PRIMARY KEY,
    payload         jsonb NOT NULL,            -- the intake.v1 event as read from the topic
    kafka_partition int NOT NULL,
    kafka_offset    bigint NOT NULL,
    names           text[] NOT NULL,           -- the ticket codes it names (reply_to)
    threads         text[] NOT NULL,           -- the Message-IDs it may thread under (a reply by mail)
    held_at         timestamptz NOT NULL DEFAULT now(),
    hold_until      timestamptz NOT NULL
);
CREATE INDEX held_intakes_by_end ON held_intakes (hold_until);
