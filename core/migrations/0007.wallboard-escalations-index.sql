-- depends: 0006.quarantine-due-index
-- The console's wallboard counts and lists the escalations of the last hour every 15 s per viewer:
-- by index, so the cost follows the escalations of the hour, not every event ever written.
CREATE INDEX ticket_events_escalated_at ON ticket_events (at DESC) WHERE kind = 'escalated';
