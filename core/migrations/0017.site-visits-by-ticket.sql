-- depends: 0016.resolved-without-actions
-- The desk's KPIs count each ticket's completed visits (first-time fix: no return visit); without
-- this, that count read the whole visit table once per ticket of the period.
CREATE INDEX site_visits_by_ticket ON site_visits (ticket_code);
