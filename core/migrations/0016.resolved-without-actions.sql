-- depends: 0015.desk-report-runs
-- Closing now needs the root cause and the actions taken (core.tickets.service). Tickets resolved
-- before that rule had no actions recorded: an alert that cleared on its own, or a resolution from
-- before /resolution required them. They get what is known, so they can be closed without a
-- reopen that would count against their first-time fix and time to resolve.
UPDATE tickets SET actions_taken = 'none by the desk: the alert cleared before anyone acted'
WHERE status IN ('resolved', 'closed') AND actions_taken IS NULL
  AND root_cause = 'the monitoring alert cleared on its own (auto-resolved)';
UPDATE tickets SET actions_taken = 'not recorded (resolved before the actions taken were required)'
WHERE status IN ('resolved', 'closed') AND actions_taken IS NULL;
UPDATE tickets SET root_cause = 'not recorded (resolved before the root cause was required)'
WHERE status IN ('resolved', 'closed') AND root_cause IS NULL;
