-- Every statement that changes what a scheduler should do also wakes the schedulers:
-- topic 'schedules' on the product's wake channel (see supervisor/listener.py).

-- name: insert_schedule
INSERT INTO scheduled_jobs (name, cron, timezone, job_type, data, retry_count, retry_interval,
                            active, next_run_at, misfire_policy, misfire_limit, overlap, source)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (name) DO NOTHING
RETURNING *, pg_notify('supervisor_jobs', 'schedules') AS notified;

-- name: update_schedule
UPDATE scheduled_jobs
SET cron = $2, timezone = $3, job_type = $4, data = $5, retry_count = $6, retry_interval = $7,
    active = $8, misfire_policy = $10, misfire_limit = $11, overlap = $12,
    -- Written only when the cron, zone or state changed: a tick may have moved it meanwhile.
    next_run_at = CASE WHEN $13 THEN $9 ELSE next_run_at END,
    last_error = CASE WHEN $13 THEN NULL ELSE last_error END, updated_at = now()
WHERE name = $1
RETURNING *, pg_notify('supervisor_jobs', 'schedules') AS notified;

-- name: upsert_config_schedule
-- The file owns a schedule it names. An unchanged cron, zone and active flag keep
-- next_run_at, so a restart after downtime still sees (and applies the misfire policy to)
-- the occurrences it missed.
INSERT INTO scheduled_jobs AS s (name, cron, timezone, job_type, data, retry_count,
                                 retry_interval, active, next_run_at, misfire_policy,
                                 misfire_limit, overlap, source)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'config')
ON CONFLICT (name) DO UPDATE
SET cron = EXCLUDED.cron, timezone = EXCLUDED.timezone, job_type = EXCLUDED.job_type,
    data = EXCLUDED.data, retry_count = EXCLUDED.retry_count,
    retry_interval = EXCLUDED.retry_interval, active = EXCLUDED.active,
    next_run_at = CASE
        WHEN s.cron = EXCLUDED.cron AND s.timezone = EXCLUDED.timezone
             AND s.active = EXCLUDED.active AND s.last_error IS NULL
        THEN s.next_run_at ELSE EXCLUDED.next_run_at END,
    last_error = CASE
        WHEN s.cron = EXCLUDED.cron AND s.timezone = EXCLUDED.timezone THEN s.last_error END,
    misfire_policy = EXCLUDED.misfire_policy, misfire_limit = EXCLUDED.misfire_limit,
    overlap = EXCLUDED.overlap, source = 'config',
    updated_at = CASE
        WHEN (s.cron, s.timezone, s.job_type, s.data, s.retry_count, s.retry_interval, s.active,
              s.misfire_policy, s.misfire_limit, s.overlap, s.source)
             IS NOT DISTINCT FROM
             (EXCLUDED.cron, EXCLUDED.timezone, EXCLUDED.job_type, EXCLUDED.data,
              EXCLUDED.retry_count, EXCLUDED.retry_interval, EXCLUDED.active,
              EXCLUDED.misfire_policy, EXCLUDED.misfire_limit, EXCLUDED.overlap, 'config')
        THEN s.updated_at ELSE now() END
RETURNING s.*, (xmax = 0) AS inserted, pg_notify('supervisor_jobs', 'schedules') AS notified;

-- name: deactivate_config_schedules
-- Config schedules no longer in the file stop firing; their history stays.
UPDATE scheduled_jobs
SET active = false, next_run_at = NULL, updated_at = now()
WHERE source = 'config' AND active AND NOT (name = ANY($1::text[]))
RETURNING name;

-- name: set_schedule_active
UPDATE scheduled_jobs
SET active = $2, next_run_at = $3, last_error = NULL, updated_at = now()
WHERE name = $1
RETURNING *, pg_notify('supervisor_jobs', 'schedules') AS notified;

-- name: get_schedule
SELECT * FROM scheduled_jobs WHERE name = $1;

-- name: list_schedules
SELECT * FROM scheduled_jobs
WHERE ($1::boolean IS NULL OR active = $1)
ORDER BY name;

-- name: delete_schedule
DELETE FROM scheduled_jobs WHERE name = $1 RETURNING id;

-- name: trigger_schedule
-- A manual fire: one run now, whatever the overlap and misfire settings; next_run_at stays.
WITH s AS (
    SELECT id, job_type, data, retry_count, retry_interval FROM scheduled_jobs WHERE name = $1
), run AS (
    INSERT INTO jobs (job_type, data, retry_count, retry_interval, schedule_id, scheduled_for,
                      lateness_ms, coalesced)
    SELECT job_type, data, retry_count, retry_interval, id, $2, 0, 0 FROM s
    ON CONFLICT (schedule_id, scheduled_for) WHERE schedule_id IS NOT NULL DO NOTHING
    RETURNING *
), counted AS (
    UPDATE scheduled_jobs t SET last_run_at = $2, fired_count = t.fired_count + 1
    FROM run WHERE t.id = run.schedule_id
), logged AS (
    INSERT INTO schedule_events (schedule_id, kind, scheduled_for, detail, created_at)
    SELECT schedule_id, 'triggered', scheduled_for, 'manual trigger, job ' || uuid, $2 FROM run
)
SELECT * FROM run;

-- name: schedule_history
SELECT j.uuid, j.status, j.scheduled_for, j.lateness_ms, j.coalesced, j.attempts,
       j.created_at, j.started_at, j.finished_at,
       extract(epoch FROM j.finished_at - j.started_at)::float8 AS duration_s,
       coalesce(j.job_response -> 'runtime_errors' ->> -1, j.job_response ->> 'error') AS error
FROM jobs j JOIN scheduled_jobs s ON s.id = j.schedule_id
WHERE s.name = $1
ORDER BY j.scheduled_for DESC
LIMIT $2;

-- name: schedule_events
SELECT e.kind, e.scheduled_for, e.count, e.detail, e.created_at
FROM schedule_events e JOIN scheduled_jobs s ON s.id = e.schedule_id
WHERE s.name = $1
ORDER BY e.id DESC
LIMIT $2;

-- name: due_schedules
-- Rows another scheduler holds are skipped, not waited for: that one is firing them.
SELECT s.id, s.name, s.cron, s.timezone, s.job_type, s.next_run_at, s.misfire_policy,
       s.misfire_limit, s.overlap,
       (NOT s.overlap AND EXISTS (
           SELECT 1 FROM jobs j
           WHERE j.schedule_id = s.id
             AND j.status IN ('open', 'in_queue', 'processing', 'failed', 'retry_in_queued')
       )) AS busy
FROM scheduled_jobs s
WHERE s.active AND s.next_run_at <= $1
ORDER BY s.next_run_at, s.id
LIMIT $2
FOR NO KEY UPDATE OF s SKIP LOCKED;

-- name: fire_schedules
-- One statement per batch: the runs, the advanced schedules and the events, all or nothing.
-- Runs are inserted oldest occurrence first so the runners take them in that order.
WITH fired AS (
    INSERT INTO jobs (job_type, data, retry_count, retry_interval, schedule_id, scheduled_for,
                      lateness_ms, coalesced)
    SELECT s.job_type, s.data, s.retry_count, s.retry_interval, s.id, f.scheduled_for,
           floor(extract(epoch FROM $1::timestamptz - f.scheduled_for) * 1000)::bigint,
           f.coalesced
    FROM unnest($2::bigint[], $3::timestamptz[], $4::integer[])
         AS f(schedule_id, scheduled_for, coalesced)
    JOIN scheduled_jobs s ON s.id = f.schedule_id
    ORDER BY f.scheduled_for, s.id
    ON CONFLICT (schedule_id, scheduled_for) WHERE schedule_id IS NOT NULL DO NOTHING
    RETURNING schedule_id
), per_schedule AS (
    SELECT schedule_id, count(*) AS n FROM fired GROUP BY schedule_id
), advanced AS (
    UPDATE scheduled_jobs s
    SET next_run_at = u.next_run_at,
        last_run_at = CASE WHEN p.n IS NULL THEN s.last_run_at ELSE $1 END,
        fired_count = s.fired_count + coalesce(p.n, 0),
        coalesced_count = s.coalesced_count + u.coalesced,
        missed_count = s.missed_count + u.missed,
        skipped_overlaps = s.skipped_overlaps + u.skipped,
        last_error = u.error
    FROM unnest($5::bigint[], $6::timestamptz[], $7::integer[], $8::integer[], $9::integer[],
                $10::text[]) AS u(id, next_run_at, coalesced, missed, skipped, error)
    LEFT JOIN per_schedule p ON p.schedule_id = u.id
    WHERE s.id = u.id
    RETURNING s.id
), logged AS (
    INSERT INTO schedule_events (schedule_id, kind, scheduled_for, count, detail, created_at)
    SELECT e.schedule_id, e.kind, e.scheduled_for, e.count, e.detail, $1
    FROM unnest($11::bigint[], $12::text[], $13::timestamptz[], $14::integer[], $15::text[])
         AS e(schedule_id, kind, scheduled_for, count, detail)
    RETURNING id
)
SELECT (SELECT count(*) FROM fired) AS fired, (SELECT count(*) FROM advanced) AS advanced;

-- name: next_due_at
SELECT min(next_run_at) FROM scheduled_jobs WHERE active;
