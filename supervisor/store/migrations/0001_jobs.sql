-- Jobs, the processes that run them, and the wake-up trigger.

CREATE TABLE nodes (
    id            uuid PRIMARY KEY,
    hostname      text        NOT NULL,
    pid           integer     NOT NULL,
    roles         text[]      NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now(),
    stopped_at    timestamptz,
    info          jsonb       NOT NULL DEFAULT '{}'
);

CREATE TABLE jobs (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid           uuid        NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    job_type       text        NOT NULL,
    data           jsonb       NOT NULL DEFAULT '{}',
    status         text        NOT NULL DEFAULT 'open',
    job_response   jsonb       NOT NULL DEFAULT '{}',
    retry_count    integer     NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
    retry_interval integer     NOT NULL DEFAULT 30 CHECK (retry_interval >= 0),
    run_after      timestamptz,
    -- finished runs (success or failure); a graceful interruption does not count
    attempts       integer     NOT NULL DEFAULT 0,
    -- runs lost because their process died; too many make the job 'dead' (a poison pill)
    rescues        integer     NOT NULL DEFAULT 0,
    -- fencing token: every claim bumps it and every later write must match it
    token          bigint      NOT NULL DEFAULT 0,
    node_id        uuid,
    started_at     timestamptz,
    finished_at    timestamptz,
    progress       jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT jobs_status_check CHECK (status IN (
        'open', 'in_queue', 'processing', 'completed', 'failed',
        'retry_in_queued', 'cancelled', 'dead'))
);

-- The claim queries walk only claimable rows; an index on status would make the planner
-- scan finished history (see DESIGN.md, "Measured on this machine kind").
CREATE INDEX jobs_open_idx  ON jobs (id) WHERE status = 'open';
CREATE INDEX jobs_retry_idx ON jobs (run_after, id) WHERE status = 'failed';
CREATE INDEX jobs_owned_idx ON jobs (node_id)
    WHERE status IN ('in_queue', 'retry_in_queued', 'processing');
-- Every status change rewrites a job's row and so adds an entry to each full index; partial
-- indexes only take rows that match. Keeping full indexes to the two keys keeps claims and
-- completions cheap. Lists walk the primary key backwards; rare end states get their own index.
CREATE INDEX jobs_ended_badly_idx ON jobs (id) WHERE status IN ('dead', 'cancelled');

-- One notification per INSERT statement (not per row) wakes every runner at once.
CREATE FUNCTION supervisor_notify_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('supervisor_jobs', 'open');
    RETURN NULL;
END $$;

CREATE TRIGGER jobs_notify_insert AFTER INSERT ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION supervisor_notify_jobs();
