-- Claims lost with a dead process before the job was known to run. A job with any such loss is
-- a suspect: its next runs wait until PostgreSQL knows they started, so a job that kills its
-- process within milliseconds is counted like any other crash (see lanes/pool.py).
ALTER TABLE jobs ADD COLUMN lost_claims integer NOT NULL DEFAULT 0;
