-- Tickets: reference data for verification, the intake ledger, tickets as a projection of
-- immutable ticket events, and the outbox that publishes those events to Kafka.
-- depends: 0001.replication-probe

CREATE TABLE customers (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    time_zone  text NOT NULL DEFAULT 'Asia/Ho_Chi_Minh',
    region     text CHECK (region IN ('north', 'central', 'south'))
);

CREATE TABLE contracts (
    number       text PRIMARY KEY,
    customer_id  text NOT NULL REFERENCES customers (id),
    tier         text NOT NULL DEFAULT 'standard',
    starts_on    date NOT NULL,
    ends_on      date NOT NULL,
    calendar     text NOT NULL DEFAULT 'business_hours' CHECK (calendar IN ('24x7', 'business_hours')),
    CHECK (starts_on <= ends_on)
);

CREATE TABLE assets (
    serial           text PRIMARY KEY,
    customer_id      text REFERENCES customers (id),
    contract_number  text REFERENCES contracts (number),
    model            text,
    category         text,
    warranty_until   date,
    location         text,
    region           text CHECK (region IN ('north', 'central', 'south'))
);

CREATE TABLE tickets (
    code              text PRIMARY KEY,
    intake_id         uuid NOT NULL UNIQUE,
    channel           text NOT NULL,
    status            text NOT NULL,
    priority          text NOT NULL CHECK (priority IN ('P1', 'P2', 'P3', 'P4')),
    impact            text NOT NULL,
    urgency           text NOT NULL,
    team              text NOT NULL,
    region            text,
    customer_id       text,
    contract_number   text,
    asset_serial      text,
    verification      jsonb NOT NULL,
    subject           text NOT NULL,
    description       text NOT NULL,
    contact           jsonb NOT NULL,
    received_site     text NOT NULL,
    receiver          text NOT NULL,
    event_time        timestamptz NOT NULL,
    received_at       timestamptz NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    sla               jsonb NOT NULL,          -- the policy snapshot in force at creation
    sla_pauses        jsonb NOT NULL DEFAULT '[]',
    response_due      timestamptz,
    response_warn_at  timestamptz,
    resolution_due    timestamptz,             -- NULL: no target (P4) or paused
    resolution_warn_at timestamptz,
    responded_at      timestamptz,
    resolved_at       timestamptz,
    closed_at         timestamptz,
    alert_fingerprint text,
    root_cause        text,
    actions_taken     text,
    csat_score        smallint CHECK (csat_score BETWEEN 1 AND 5),
    csat_comment      text,
    version           integer NOT NULL DEFAULT 1,
    search            tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', code || ' ' || subject || ' ' || description)
    ) STORED
);
CREATE INDEX tickets_status ON tickets (status);
CREATE INDEX tickets_priority ON tickets (priority);
CREATE INDEX tickets_team_region ON tickets (team, region);
CREATE INDEX tickets_created ON tickets (created_at DESC, code DESC);
CREATE INDEX tickets_search ON tickets USING gin (search);
CREATE INDEX tickets_alert ON tickets (alert_fingerprint) WHERE alert_fingerprint IS NOT NULL;

-- Every change to a ticket, appended, never edited (the outbox flag aside).
CREATE TABLE ticket_events (
    id            bigserial PRIMARY KEY,
    ticket_code   text NOT NULL REFERENCES tickets (code),
    seq           integer NOT NULL,
    kind          text NOT NULL,
    actor         text NOT NULL,
    at            timestamptz NOT NULL DEFAULT now(),
    data          jsonb NOT NULL DEFAULT '{}',
    intake_id     uuid,
    published_at  timestamptz,
    UNIQUE (ticket_code, seq)
);
CREATE INDEX ticket_events_unpublished ON ticket_events (id) WHERE published_at IS NULL;

CREATE FUNCTION ticket_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ticket events are immutable: delete refused (event %)', OLD.id;
    END IF;
    IF (NEW.ticket_code, NEW.seq, NEW.kind, NEW.actor, NEW.at, NEW.data, NEW.intake_id)
       IS DISTINCT FROM (OLD.ticket_code, OLD.seq, OLD.kind, OLD.actor, OLD.at, OLD.data, OLD.intake_id) THEN
        RAISE EXCEPTION 'ticket events are immutable: only published_at may be set (event %)', OLD.id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ticket_events_immutable BEFORE UPDATE OR DELETE ON ticket_events
    FOR EACH ROW EXECUTE FUNCTION ticket_events_immutable();

-- Every intake event applied, with its outcome: the consumer's deduplication ledger.
CREATE TABLE intakes (
    intake_id        uuid PRIMARY KEY,
    ticket_code      text,               -- NULL: it matched nothing (a resolved alert we never saw)
    channel          text NOT NULL,
    kind             text NOT NULL,
    outcome          text NOT NULL,
    received_site    text NOT NULL,
    received_at      timestamptz NOT NULL,
    applied_at       timestamptz NOT NULL DEFAULT now(),
    kafka_partition  integer NOT NULL,
    kafka_offset     bigint NOT NULL
);
CREATE INDEX intakes_ticket ON intakes (ticket_code);

-- Email threading: every Message-ID we saw, with the ticket it belongs to.
CREATE TABLE email_messages (
    message_id   text PRIMARY KEY,
    ticket_code  text NOT NULL REFERENCES tickets (code)
);

-- Messages the ticket service could not decode: kept, never silently skipped.
CREATE TABLE poison_messages (
    kafka_partition  integer NOT NULL,
    kafka_offset     bigint NOT NULL,
    error            text NOT NULL,
    payload          bytea NOT NULL,
    seen_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kafka_partition, kafka_offset)
);
