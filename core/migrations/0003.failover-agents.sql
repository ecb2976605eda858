-- Failover and agents: fencing epochs checked by PostgreSQL, the escalation state of tickets,
-- agent accounts, sessions valid at both sites, the login audit, the duty roster, cold-standby
-- activations and the notifications the (cold) notifier sent.
-- depends: 0002.tickets

-- Fencing: the highest leadership epoch PostgreSQL has seen per singleton role. A write that
-- carries an older epoch comes from a deposed leader and is refused (SQLSTATE CCF01).
CREATE TABLE fencing_epochs (
    role    text PRIMARY KEY,
    epoch   bigint NOT NULL CHECK (epoch > 0),
    holder  text NOT NULL,
    since   timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION ccdr_fence(p_role text, p_epoch bigint, p_holder text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    current bigint;
BEGIN
    INSERT INTO fencing_epochs (role, epoch, holder) VALUES (p_role, p_epoch, p_holder)
        ON CONFLICT (role) DO NOTHING;
    SELECT epoch INTO current FROM fencing_epochs WHERE role = p_role FOR UPDATE;
    IF p_epoch < current THEN
        RAISE EXCEPTION 'stale fencing epoch for %: % < % (a newer leader holds the role)', p_role, p_epoch, current
            USING ERRCODE = 'CCF01';
    END IF;
    IF p_epoch > current THEN
        UPDATE fencing_epochs SET epoch = p_epoch, holder = p_holder, since = now() WHERE role = p_role;
    END IF;
    RETURN p_epoch;
END $$;

-- Events written by a singleton carry its role and epoch, and a key that makes each scheduled
-- action happen once per ticket (an escalation is never written twice, even across failovers).
ALTER TABLE ticket_events
    ADD COLUMN fencing_role  text,
    ADD COLUMN fencing_epoch bigint,
    ADD COLUMN action_key    text,
    ADD CONSTRAINT ticket_events_fencing CHECK ((fencing_role IS NULL) = (fencing_epoch IS NULL));
CREATE UNIQUE INDEX ticket_events_action ON ticket_events (ticket_code, action_key) WHERE action_key IS NOT NULL;

CREATE FUNCTION ticket_events_fenced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.fencing_role IS NOT NULL THEN
        PERFORM ccdr_fence(NEW.fencing_role, NEW.fencing_epoch, NEW.actor);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ticket_events_fenced BEFORE INSERT ON ticket_events
    FOR EACH ROW EXECUTE FUNCTION ticket_events_fenced();

CREATE OR REPLACE FUNCTION ticket_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ticket events are immutable: delete refused (event %)', OLD.id;
    END IF;
    IF (NEW.ticket_code, NEW.seq, NEW.kind, NEW.actor, NEW.at, NEW.data, NEW.intake_id,
        NEW.fencing_role, NEW.fencing_epoch, NEW.action_key)
       IS DISTINCT FROM (OLD.ticket_code, OLD.seq, OLD.kind, OLD.actor, OLD.at, OLD.data, OLD.intake_id,
        OLD.fencing_role, OLD.fencing_epoch, OLD.action_key) THEN
        RAISE EXCEPTION 'ticket events are immutable: only published_at may be set (event %)', OLD.id;
    END IF;
    RETURN NEW;
END $$;

-- Agents: accounts, roles, teams, regions and skills. Passwords are argon2id hashes.
CREATE TABLE agents (
    id             text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9._-]{1,62}$'),
    name           text NOT NULL,
    email          text,
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('agent-L1', 'agent-L2', 'agent-L3', 'supervisor', 'sre', 'auditor')),
    teams          text[] NOT NULL DEFAULT '{}',
    regions        text[] NOT NULL DEFAULT '{}',
    skills         text[] NOT NULL DEFAULT '{}',
    home_site      text NOT NULL,
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Sessions live in the replicated database, so a token issued at one site is valid at the
-- other and a logout or revocation takes effect at both. Only a hash of the token is stored.
CREATE TABLE agent_sessions (
    token_hash  bytea PRIMARY KEY,
    agent_id    text NOT NULL REFERENCES agents (id),
    site        text NOT NULL,               -- where it was issued
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    revoked_by  text
);
CREATE INDEX agent_sessions_agent ON agent_sessions (agent_id) WHERE revoked_at IS NULL;

-- Every login attempt, with the agent's home site and the site that served it.
CREATE TABLE agent_logins (
    id          bigserial PRIMARY KEY,
    agent_id    text NOT NULL,
    home_site   text,
    login_site  text NOT NULL,
    remote      boolean NOT NULL,
    outcome     text NOT NULL CHECK (outcome IN ('ok', 'bad_credentials', 'inactive')),
    client      text,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_logins_agent ON agent_logins (agent_id, at DESC);

-- The duty roster: who is on duty for which team, region and level, when.
CREATE TABLE duty_shifts (
    id           bigserial PRIMARY KEY,
    agent_id     text NOT NULL REFERENCES agents (id),
    team         text NOT NULL,
    region       text NOT NULL CHECK (region IN ('north', 'central', 'south')),
    level        text NOT NULL CHECK (level IN ('L1', 'L2', 'L3')),
    kind         text NOT NULL CHECK (kind IN ('in_hours', 'out_of_hours')),
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    source       text NOT NULL,
    imported_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (starts_at < ends_at)
);
CREATE INDEX duty_shifts_time ON duty_shifts (starts_at, ends_at);

-- Tickets: who works it, at which support level since when, and the escalation chain in force
-- when it was opened ('{}' = the defaults of that time, for tickets opened before this column).
ALTER TABLE tickets
    ADD COLUMN support_level text NOT NULL DEFAULT 'L1' CHECK (support_level IN ('L1', 'L2', 'L3')),
    ADD COLUMN level_since   timestamptz,
    ADD COLUMN escalation    jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN emergency_at  timestamptz,
    ADD COLUMN assignee      text REFERENCES agents (id),
    ADD COLUMN assigned_at   timestamptz;
CREATE INDEX tickets_assignee ON tickets (assignee) WHERE assignee IS NOT NULL;
CREATE INDEX tickets_unassigned ON tickets (created_at) WHERE assignee IS NULL;

-- Cold standby: every activation of a component at a site, automatic or by an operator.
CREATE TABLE standby_activations (
    id             bigserial PRIMARY KEY,
    component      text NOT NULL,
    site           text NOT NULL,
    previous_site  text,
    automatic      boolean NOT NULL,
    reason         text NOT NULL,
    operator       text NOT NULL,
    at             timestamptz NOT NULL DEFAULT now()
);

-- What the notifier delivered (one row per ticket event and recipient: a failover re-reads the
-- topic and skips what is here).
CREATE TABLE notifications (
    event_id     bigint NOT NULL REFERENCES ticket_events (id),
    recipient    text NOT NULL,
    ticket_code  text NOT NULL,
    kind         text NOT NULL,
    site         text NOT NULL,
    sent_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, recipient)
);
