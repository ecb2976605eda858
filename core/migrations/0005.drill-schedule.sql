-- depends: 0004.drill-ledger
-- The drill scheduler's record: every scheduled fire it acted on (ran or skipped, and why), so a
-- new scheduler leader knows what was done, and one fire is acted on once (unique key), written
-- with the leader's fencing epoch so a deposed leader's late write is refused (ccdr_fence, 0003).
CREATE TABLE drill_schedule_runs (
    drill          text NOT NULL,
    due_at         timestamptz NOT NULL,
    action         text NOT NULL CHECK (action IN ('run', 'skip')),
    reason         text NOT NULL,
    scheduler      text NOT NULL,
    fencing_epoch  bigint NOT NULL,
    report_id      text,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (drill, due_at)
);
