-- depends: 0014.notification-recipient-index
-- The desk reports the leader-elected report scheduler wrote (ccdr report scheduler): one per
-- period, recorded with the writer's fencing epoch, so a deposed leader's late write is refused
-- and a new leader does not write a period again.
CREATE TABLE desk_report_runs (
    period         text PRIMARY KEY,          -- 2026-W49, 2026-12
    kind           text NOT NULL CHECK (kind IN ('week', 'month')),
    path           text NOT NULL,             -- the PDF, on the scheduler's host
    scheduler      text NOT NULL,
    fencing_epoch  bigint NOT NULL,
    written_at     timestamptz NOT NULL DEFAULT now()
);
