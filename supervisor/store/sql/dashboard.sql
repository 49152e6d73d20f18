-- name: ui_list_jobs
-- The dashboard's job list: no job data or response (they may be large), only a short preview.
-- $3 matches any part of the uuid's text; the caller lets only hex digits and '-' through.
SELECT id, uuid, job_type, status, attempts, retry_count, retried_attempts, rescues, run_after,
       created_at, started_at, finished_at, updated_at, schedule_id,
       left(data::text, 120) AS data_preview
FROM jobs
WHERE ($1::text[] IS NULL OR status = ANY($1))
  AND ($2::text IS NULL OR job_type = $2)
  AND ($3::text IS NULL OR uuid::text LIKE '%' || $3 || '%')
  AND ($4::bigint IS NULL OR id < $4)
ORDER BY id DESC
LIMIT $5;

-- name: ui_throughput
-- Jobs whose last run ended in each of the last 60 minutes, by outcome. finished_at has no
-- index (one would cost every completion a second index entry), so only the newest $1 jobs by
-- id are looked at: a backward walk of the primary key with a fixed upper cost.
-- Minutes are whole epoch seconds / 60 (cheaper than date_trunc, which consults the time zone).
SELECT floor(extract(epoch FROM finished_at) / 60)::bigint * 60 AS minute,
       count(*) FILTER (WHERE status = 'completed') AS completed,
       count(*) FILTER (WHERE status IN ('failed', 'dead')) AS failed
FROM (SELECT status, finished_at FROM jobs ORDER BY id DESC LIMIT $1) recent
WHERE finished_at >= now() - interval '60 minutes'
GROUP BY 1
ORDER BY 1;
