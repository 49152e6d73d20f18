-- The client's own statements, run on an application's connection (asyncpg, psycopg or
-- SQLAlchemy): parameters as `$n` with CAST(... AS type), jobs returned as JSON text so every
-- driver sees the same values. Cancel and retry reuse the runtime's queries of
-- supervisor/store/sql/jobs.sql, so the rules live in one place.

-- name: client_get
SELECT row_to_json(j)::text AS job FROM jobs j WHERE j.uuid = CAST($1 AS uuid);

-- name: client_insert
-- The caller's transaction commits it; the jobs INSERT trigger's NOTIFY goes out at commit.
INSERT INTO jobs (uuid, job_type, data, retry_count, retry_interval, priority, timeout_seconds,
                  run_after)
VALUES (CAST($1 AS uuid), $2, CAST(CAST($3 AS text) AS jsonb), $4, $5, $6, $7,
        CAST($8 AS timestamptz))
RETURNING uuid;

-- name: client_insert_unique
-- After lock_unique_key in the same transaction: the existing job's uuid, or a new job's.
WITH existing AS (
    SELECT uuid FROM jobs WHERE unique_key = $9 AND status = ANY(CAST($10 AS text[]))
    ORDER BY id LIMIT 1
), inserted AS (
    INSERT INTO jobs (uuid, job_type, data, retry_count, retry_interval, priority,
                      timeout_seconds, run_after, unique_key)
    SELECT CAST($1 AS uuid), $2, CAST(CAST($3 AS text) AS jsonb), $4, $5, $6, $7,
           CAST($8 AS timestamptz), $9
    WHERE NOT EXISTS (SELECT 1 FROM existing)
    RETURNING uuid
)
SELECT uuid, false AS duplicate FROM inserted
UNION ALL
SELECT uuid, true AS duplicate FROM existing;

-- name: client_insert_many
-- Many jobs of one type and one set of options in one statement.
INSERT INTO jobs (uuid, job_type, data, retry_count, retry_interval, priority, timeout_seconds,
                  run_after)
SELECT u.uuid, $3, CAST(u.data AS jsonb), $4, $5, $6, $7, CAST($8 AS timestamptz)
FROM unnest(CAST($1 AS uuid[]), CAST($2 AS text[])) AS u(uuid, data);
