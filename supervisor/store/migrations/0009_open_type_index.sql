-- Open jobs of one type in claim order. A claim with a concurrency limit takes a limited type's
-- jobs by type; through jobs_open_idx that walked every open job of the other types first
-- (2 ms a claim with 20,000 open jobs, every claim of a daemon that has any limited type).
-- A partial index gets an entry only when a job is created or opened again.
CREATE INDEX jobs_open_type_idx ON jobs (job_type, priority, id) WHERE status = 'open';
