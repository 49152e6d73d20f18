-- Cron schedules, what they did each tick, and the link from a job to the occurrence it serves.

CREATE TABLE scheduled_jobs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             text        NOT NULL UNIQUE,
    cron             text        NOT NULL,
    timezone         text        NOT NULL DEFAULT 'UTC',
    job_type         text        NOT NULL,
    data             jsonb       NOT NULL DEFAULT '{}',
    retry_count      integer     NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
    retry_interval   integer     NOT NULL DEFAULT 30 CHECK (retry_interval >= 0),
    active           boolean     NOT NULL DEFAULT true,
    -- the next occurrence not yet handled; NULL only while the schedule is paused
    next_run_at      timestamptz,
    -- when the scheduler (or a manual trigger) last created a run
    last_run_at      timestamptz,
    misfire_policy   text        NOT NULL DEFAULT 'coalesce'
                     CHECK (misfire_policy IN ('coalesce', 'fire_all', 'skip')),
    misfire_limit    integer     NOT NULL DEFAULT 100 CHECK (misfire_limit >= 1),
    overlap          boolean     NOT NULL DEFAULT false,
    source           text        NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'cli', 'config')),
    -- running totals, so `schedule show` needs no scan of the runs
    fired_count      bigint      NOT NULL DEFAULT 0,
    coalesced_count  bigint      NOT NULL DEFAULT 0,
    missed_count     bigint      NOT NULL DEFAULT 0,
    skipped_overlaps bigint      NOT NULL DEFAULT 0,
    -- why the scheduler could not compute this schedule's fires (cleared once it can again)
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- The tick walks only active rows in due order.
CREATE INDEX scheduled_jobs_due_idx ON scheduled_jobs (next_run_at, id) WHERE active;

-- Anything a tick did besides a plain fire: overlap skips, coalesced or missed occurrences,
-- errors, manual triggers. One row per schedule, kind and tick, with a count.
CREATE TABLE schedule_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schedule_id   bigint      NOT NULL REFERENCES scheduled_jobs (id) ON DELETE CASCADE,
    kind          text        NOT NULL CHECK (kind IN (
                      'skipped_overlap', 'coalesced', 'missed', 'error', 'triggered')),
    scheduled_for timestamptz,
    count         integer     NOT NULL DEFAULT 1,
    detail        text,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX schedule_events_schedule_idx ON schedule_events (schedule_id, id);

ALTER TABLE jobs
    ADD COLUMN schedule_id   bigint REFERENCES scheduled_jobs (id) ON DELETE SET NULL,
    ADD COLUMN scheduled_for timestamptz,
    -- fire time minus scheduled_for, in milliseconds
    ADD COLUMN lateness_ms   bigint,
    -- further occurrences this run stands for (misfire policy 'coalesce')
    ADD COLUMN coalesced     integer,
    -- The guard that makes an occurrence fire once, whatever number of schedulers race.
    -- Its index also serves a schedule's history (newest scheduled_for first) and the
    -- ON DELETE SET NULL above, so no second index on schedule_id is kept up on every insert.
    ADD CONSTRAINT jobs_schedule_occurrence_key UNIQUE (schedule_id, scheduled_for);

-- The overlap check: does a schedule have a run that has not ended? Only unfinished scheduled
-- runs are in this index, so the check stays cheap however long the history grows.
CREATE INDEX jobs_schedule_unfinished_idx ON jobs (schedule_id)
    WHERE schedule_id IS NOT NULL
      AND status IN ('open', 'in_queue', 'processing', 'failed', 'retry_in_queued');
