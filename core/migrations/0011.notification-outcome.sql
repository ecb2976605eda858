-- depends: 0010.signed-sessions
-- A notice the relay refused for good (5xx: no such mailbox, a policy refusal) is recorded as
-- refused, with the relay's answer, and the notifier goes on: one bad address must not hold back
-- every notice behind it. A transient refusal (4xx, the relay unreachable) is tried again.
ALTER TABLE notifications
    ADD COLUMN outcome text NOT NULL DEFAULT 'sent' CHECK (outcome IN ('sent', 'refused')),
    ADD COLUMN detail text;
