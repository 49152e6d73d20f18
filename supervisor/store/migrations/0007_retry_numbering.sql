-- A manual retry (job retry, POST .../retry) gives a dead, failed or cancelled job its retries
-- again, but its runs keep counting: the errors of the new runs read "attempt 4, 5, ..." after
-- the old "attempt 1, 2, 3". `attempts` stays the count of every finished run; this column holds
-- how many of them came before the last manual retry, so the retry budget counts from there.
ALTER TABLE jobs ADD COLUMN retried_attempts integer NOT NULL DEFAULT 0;
