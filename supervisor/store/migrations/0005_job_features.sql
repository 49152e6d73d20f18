-- Priority and unique jobs (timeout_seconds, filled at creation, comes with 0004).

ALTER TABLE jobs
    -- 0 runs first, 9 last; claims take the lowest number, then the oldest job
    ADD COLUMN priority   smallint NOT NULL DEFAULT 5,
    -- at most one job with this key in the states it was created unique across
    ADD COLUMN unique_key text,
    ADD CONSTRAINT jobs_priority_range CHECK (priority BETWEEN 0 AND 9),
    ADD CONSTRAINT jobs_unique_key_length CHECK (length(unique_key) <= 200);

-- The claim walks open rows in priority order; still only claimable rows are in the index.
DROP INDEX jobs_open_idx;
CREATE INDEX jobs_open_idx ON jobs (priority, id) WHERE status = 'open';

-- A duplicate check looks only at keyed jobs; jobs without a key never enter this index.
CREATE INDEX jobs_unique_key_idx ON jobs (unique_key) WHERE unique_key IS NOT NULL;

-- Pruning looks only at old rows. Ids and creation times grow together, so a BRIN index on
-- created_at finds the old pages at almost no cost per write (a btree on the finished rows
-- would take an entry for every completion).
CREATE INDEX jobs_created_brin ON jobs USING brin (created_at);
CREATE INDEX schedule_events_created_brin ON schedule_events USING brin (created_at);
