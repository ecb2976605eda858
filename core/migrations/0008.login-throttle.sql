-- depends: 0007.wallboard-escalations-index
-- Failed sign-ins are counted per agent ID and per client address over a short window
-- (core.agents.domain.throttle); an attempt refused by the throttle is audited too.
ALTER TABLE agent_logins DROP CONSTRAINT agent_logins_outcome_check;
ALTER TABLE agent_logins ADD CONSTRAINT agent_logins_outcome_check
    CHECK (outcome IN ('ok', 'bad_credentials', 'inactive', 'throttled'));
CREATE INDEX agent_logins_client_failures ON agent_logins (client, at DESC) WHERE outcome <> 'ok';
