-- depends: 0005.drill-schedule
-- 1. The intake quarantine: every intake event the ticket worker could not apply for a reason
--    that retrying would not cure (undecodable, unstorable, refused by the database), kept with
--    its payload so it is visible, countable and retryable (ccdr tickets quarantine ...), while
--    the worker commits past it. It replaces poison_messages, which held undecodable ones only.
-- 2. Work the singletons find by index, so their cost follows due work, not the number of open
--    tickets: `clock_due_at` is when the SLA clock must next look at a ticket (a trigger marks it
--    on every change that can matter, so no writer can forget); the dispatcher reads the unassigned
--    open tickets someone could take now, and the per-agent load, through partial indexes.

CREATE TABLE intake_quarantine (
    id               bigserial PRIMARY KEY,
    kafka_partition  integer NOT NULL,
    kafka_offset     bigint NOT NULL,
    reason           text NOT NULL CHECK (reason IN ('undecodable', 'unstorable', 'rejected')),
    error            text NOT NULL,
    intake_id        uuid,
    payload          bytea NOT NULL,
    quarantined_by   text NOT NULL,
    quarantined_at   timestamptz NOT NULL DEFAULT now(),
    retried_at       timestamptz,
    retried_by       text,
    UNIQUE (kafka_partition, kafka_offset)
);
CREATE INDEX intake_quarantine_pending ON intake_quarantine (id) WHERE retried_at IS NULL;

INSERT INTO intake_quarantine (kafka_partition, kafka_offset, reason, error, payload, quarantined_by, quarantined_at)
SELECT kafka_partition, kafka_offset, 'undecodable', error, payload, 'poison_messages', seen_at FROM poison_messages;
DROP TABLE poison_messages;

ALTER TABLE tickets ADD COLUMN clock_due_at timestamptz;
CREATE INDEX tickets_clock_due ON tickets (clock_due_at) WHERE clock_due_at IS NOT NULL;

CREATE FUNCTION tickets_mark_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.clock_due_at := COALESCE(NEW.clock_due_at, now());
    ELSIF NEW.clock_due_at IS NOT DISTINCT FROM OLD.clock_due_at
          AND (NEW.status, NEW.priority, NEW.support_level, NEW.received_at, NEW.level_since,
               NEW.response_due, NEW.response_warn_at, NEW.resolution_due, NEW.resolution_warn_at,
               NEW.responded_at, NEW.resolved_at, NEW.escalation)
              IS DISTINCT FROM
              (OLD.status, OLD.priority, OLD.support_level, OLD.received_at, OLD.level_since,
               OLD.response_due, OLD.response_warn_at, OLD.resolution_due, OLD.resolution_warn_at,
               OLD.responded_at, OLD.resolved_at, OLD.escalation) THEN
        -- Something the clock decides on changed, and the writer is not the clock itself (the
        -- clock sets clock_due_at explicitly): look at this ticket again now.
        NEW.clock_due_at := now();
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER tickets_mark_due BEFORE INSERT OR UPDATE ON tickets
    FOR EACH ROW EXECUTE FUNCTION tickets_mark_due();

-- Every ticket that is open, or resolved recently enough to be followed up, is due once now.
UPDATE tickets SET clock_due_at = now()
WHERE status NOT IN ('resolved', 'closed') OR resolved_at > now() - interval '4 days';

-- The dispatcher's work: open tickets without an assignee that someone on duty and present could
-- take (read per team and level, so tickets nobody can take now cost nothing), those of absent
-- agents, and the open load per agent.
CREATE INDEX tickets_open_unassigned ON tickets (team, support_level, created_at, code)
    WHERE assignee IS NULL AND status NOT IN ('resolved', 'closed');
CREATE INDEX tickets_open_assignee ON tickets (assignee)
    WHERE assignee IS NOT NULL AND status NOT IN ('resolved', 'closed');
