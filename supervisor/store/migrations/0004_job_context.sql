-- What a job keeps across attempts (its checkpoint), and how long one of its runs may take.
-- Both are nullable without a default, so adding them rewrites no row.
ALTER TABLE jobs ADD COLUMN checkpoint jsonb;
ALTER TABLE jobs ADD COLUMN timeout_seconds double precision
    CONSTRAINT jobs_timeout_check CHECK (timeout_seconds > 0 AND timeout_seconds <= 31622400);
