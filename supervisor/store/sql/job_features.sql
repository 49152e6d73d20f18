-- name: insert_job_rows
-- Jobs of any types in one statement, with uuids chosen by the caller (the API's group commit).
INSERT INTO jobs (uuid, job_type, data, retry_count, retry_interval, priority, timeout_seconds)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::integer[], $5::integer[],
                     $6::smallint[], $7::double precision[]);

-- name: lock_unique_key
-- Creators of one key take turns until commit, so two can never both see "no such job".
SELECT pg_advisory_xact_lock(hashtextextended('supervisor.unique:' || $1, 0));

-- name: insert_unique_job
-- The existing job's uuid when one with this key is in the given states, else a new job's.
WITH existing AS (
    SELECT uuid FROM jobs WHERE unique_key = $8 AND status = ANY($9::text[])
    ORDER BY id LIMIT 1
), inserted AS (
    INSERT INTO jobs (uuid, job_type, data, retry_count, retry_interval, priority,
                      timeout_seconds, unique_key)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8
    WHERE NOT EXISTS (SELECT 1 FROM existing)
    RETURNING uuid
)
SELECT uuid, false AS duplicate FROM inserted
UNION ALL
SELECT uuid, true AS duplicate FROM existing;
