-- A manual retry (job retry, POST .../retry) gives a dead, failed or cancelled job its retries
-- again, but its runs keep counting: the errors of the new runs read "attempt 4, 5, ..." after
-- the old "attempt 1, 2, 3". `attempts` stays the count of every finished run; this column holds
-- how many of them came before the last manual retry, so the retry budget counts from there.
ALTER TABLE jobs ADD COLUMN retried_attempts integer NOT NULL DEFAULT 0;

-- `job list --type` and POST /common/jobs with job_type walked the primary key past every job
-- of other types (about 100 ms at 1M rows for a rare type). This full index costs every status
-- change one more index entry; bench/README.md has the measured write cost.
CREATE INDEX jobs_type_idx ON jobs (job_type, id);
