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

-- name: lock_type_limits
-- Claimers of one globally limited job type take turns until commit.
SELECT count(pg_advisory_xact_lock(hashtextextended('supervisor.limit:' || t, 0)))
FROM unnest($1::text[]) AS t;

-- fragment: claim_caps
-- The room of each capped type ($3 types, $4 room in this process, $5 global limit or NULL):
-- the local room, or less when the jobs every process holds leave less of the global limit.
SELECT c.job_type,
       CASE WHEN c.global_limit IS NULL THEN c.room
            ELSE least(c.room, c.global_limit - (
                SELECT count(*) FROM jobs h WHERE h.job_type = c.job_type
                  AND h.status IN ('in_queue', 'retry_in_queued', 'processing')))
       END AS room
FROM unnest($3::text[], $4::integer[], $5::integer[]) AS c(job_type, room, global_limit)

-- name: claim_open_capped
-- claim_open where the types in $3 may take at most $4 jobs each, and no more than $5 may be
-- held by every process together ($5 NULL: no global limit); other types as usual.
-- `job_type || ''` hides the column's statistics from the estimate: where one type is most of
-- the jobs (a backlog of one kind, every bench), `job_type <> <unknown value>` looks almost
-- never true to a generic plan, so it took 1 row for the estimate and sorted a scan of every
-- open job instead of walking jobs_open_idx: 6.1 ms for 100 of 10,000 open, instead of 1.9.
WITH caps AS (
    -- include: claim_caps
), free AS (
    SELECT id, priority FROM jobs
    WHERE status = 'open' AND (run_after IS NULL OR run_after <= now())
      AND job_type || '' <> ALL($3::text[])
    ORDER BY priority, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), capped AS (
    SELECT p.id, p.priority FROM caps CROSS JOIN LATERAL (
        SELECT id, priority FROM jobs
        WHERE status = 'open' AND (run_after IS NULL OR run_after <= now())
          AND job_type = caps.job_type
        ORDER BY priority, id
        LIMIT greatest(caps.room, 0)
        FOR UPDATE SKIP LOCKED) p
), picked AS (
    SELECT id FROM (SELECT * FROM free UNION ALL SELECT * FROM capped) c
    ORDER BY priority, id
    LIMIT $2
)
-- include: claim_take

-- name: claim_retry_capped
-- claim_retry with the caps of claim_open_capped (and its `job_type || ''`).
WITH caps AS (
    -- include: claim_caps
), free AS (
    SELECT id, priority, run_after FROM jobs
    WHERE status = 'failed' AND run_after <= now() AND job_type || '' <> ALL($3::text[])
    ORDER BY priority, run_after, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), capped AS (
    SELECT p.id, p.priority, p.run_after FROM caps CROSS JOIN LATERAL (
        SELECT id, priority, run_after FROM jobs
        WHERE status = 'failed' AND run_after <= now() AND job_type = caps.job_type
        ORDER BY priority, run_after, id
        LIMIT greatest(caps.room, 0)
        FOR UPDATE SKIP LOCKED) p
), picked AS (
    SELECT id FROM (SELECT * FROM free UNION ALL SELECT * FROM capped) c
    ORDER BY priority, run_after, id
    LIMIT $2
)
-- include: claim_take

-- name: cancel_jobs_matching
-- Up to $4 jobs in states $1 (of type $2, created before $3, when given) become cancelled;
-- bumping the token fences any runner still on them. `was` is the state before.
WITH picked AS (
    SELECT id, status FROM jobs
    WHERE status = ANY($1::text[]) AND ($2::text IS NULL OR job_type = $2)
      AND ($3::timestamptz IS NULL OR created_at < $3)
    ORDER BY id
    LIMIT $4
    FOR UPDATE
)
UPDATE jobs j
SET status = 'cancelled', token = j.token + 1, run_after = NULL, finished_at = now(),
    updated_at = now()
FROM picked WHERE j.id = picked.id
RETURNING j.uuid, picked.status AS was;

-- name: retry_jobs_matching
-- Up to $4 failed, dead or cancelled jobs matching the filter are due again at once; rows
-- changed since $5 (the bulk retry's start) are left alone, so a job that fails again at
-- once is not picked up twice by one bulk retry.
WITH picked AS (
    SELECT id FROM jobs
    WHERE status = ANY($1::text[]) AND ($2::text IS NULL OR job_type = $2)
      AND ($3::timestamptz IS NULL OR created_at < $3) AND updated_at < $5
    ORDER BY id
    LIMIT $4
    FOR UPDATE
)
UPDATE jobs j
SET status = 'open', retried_attempts = j.attempts, rescues = 0, run_after = NULL,
    node_id = NULL, started_at = NULL, finished_at = NULL, progress = NULL, updated_at = now()
FROM picked WHERE j.id = picked.id
RETURNING j.uuid;

-- name: database_now
SELECT clock_timestamp();

-- name: notify_cancelled
SELECT count(pg_notify('supervisor_cancel', u)) FROM unnest($1::text[]) AS u;
