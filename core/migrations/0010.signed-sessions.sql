-- depends: 0009.drill-ledger-no-truncate
-- Sessions are signed tokens now (core.agents.domain.tokens), checked without the database.
-- What the signature cannot say is read from here by every service, at any node:
-- revoked tokens (agent_sessions.revoked_at) and, per agent, a moment before which every token
-- is void (revoke-all; it also catches a session recorded late, while the primary was away).
ALTER TABLE agents ADD COLUMN sessions_not_before timestamptz;
-- Sign-ins are recorded after the answer when the primary is away, and retried: each attempt
-- carries its own id so a retried batch is written once.
ALTER TABLE agent_logins ADD COLUMN attempt uuid UNIQUE;
