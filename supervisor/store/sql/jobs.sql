-- name: create_job
INSERT INTO jobs (job_type, data, retry_count, retry_interval, run_after)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: create_jobs
INSERT INTO jobs (job_type, data, retry_count, retry_interval)
SELECT $1, d, $3, $4 FROM unnest($2::jsonb[]) AS d;

-- name: create_job_rows
-- Jobs of any types in one statement, with uuids chosen by the caller (the API's group commit).
INSERT INTO jobs (uuid, job_type, data, retry_count, retry_interval)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::integer[], $5::integer[]);

-- fragment: claim_take
-- The end of every claim: takes the `picked` ids for process $1 and returns the fields of
-- supervisor.store.jobs.Claimed (and priority). By key, as an array: the claim pool runs
-- generic plans (planning the claims with limits afresh each time cost more than running them),
-- and a generic plan guesses LIMIT $2 at a tenth of the table, so `FROM picked` joined back by
-- a hash join over a scan of every job: 7.3 ms for 100 of 30,000 instead of 1.7 ms. The rows
-- come back in id order; JobStore.claim puts them in claim order again.
UPDATE jobs j  -- picked: open jobs (the first-time lane) or due failed ones (the retry lane)
SET status = CASE j.status WHEN 'open' THEN 'in_queue' ELSE 'retry_in_queued' END,
    node_id = $1, token = j.token + 1, updated_at = now()
WHERE j.id = ANY (ARRAY(SELECT id FROM picked))
RETURNING j.id, j.uuid, j.job_type, j.data, j.token, j.attempts, j.retry_count,
          j.retry_interval, j.created_at, j.run_after, j.checkpoint, j.timeout_seconds,
          j.retried_attempts, (j.lost_claims > 0 OR j.rescues > 0) AS suspect, j.priority;

-- name: claim_open
WITH picked AS (
    SELECT id FROM jobs
    WHERE status = 'open' AND (run_after IS NULL OR run_after <= now())
    ORDER BY priority, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
-- include: claim_take

-- name: claim_retry
WITH picked AS (
    SELECT id FROM jobs
    WHERE status = 'failed' AND run_after <= now()
    ORDER BY priority, run_after, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
-- include: claim_take

-- name: next_retry_at
SELECT min(run_after) FROM jobs WHERE status = 'failed';

-- name: mark_started
-- Only jobs still ours (same token, not cancelled or rescued meanwhile) start; their ids return.
-- `status || ''`: see finish_jobs.
UPDATE jobs j
SET status = 'processing', started_at = u.started_at, finished_at = NULL, updated_at = now()
FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[]) AS u(id, token, started_at)
WHERE j.id = u.id AND j.token = u.token AND j.status || '' IN ('in_queue', 'retry_in_queued')
RETURNING j.id;

-- name: finish_jobs
UPDATE jobs j
SET status = u.status,
    attempts = j.attempts + 1,
    started_at = u.started_at,
    finished_at = u.finished_at,
    run_after = u.run_after,
    -- An error adds its line to runtime_errors (the Jobs API's field) and, when it has one,
    -- {error, traceback} to tracebacks.
    job_response = CASE
        WHEN u.error IS NULL THEN j.job_response || coalesce(u.response, '{}')
        ELSE jsonb_set(jsonb_set(j.job_response || coalesce(u.response, '{}'), '{runtime_errors}',
                       coalesce(j.job_response -> 'runtime_errors', '[]'::jsonb)
                       || jsonb_build_array(u.error)), '{tracebacks}',
                       coalesce(j.job_response -> 'tracebacks', '[]'::jsonb)
                       || CASE WHEN u.trace IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(
                              jsonb_build_object('error', u.error, 'traceback', u.trace)) END)
    END,
    updated_at = now()
FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[], $5::timestamptz[],
            $6::timestamptz[], $7::jsonb[], $8::text[], $9::text[])
     AS u(id, token, status, started_at, finished_at, run_after, response, error, trace)
WHERE j.id = u.id AND j.token = u.token
  -- `|| ''` keeps the planner off jobs_owned_idx, whose predicate this condition would match.
  -- Its statistics say almost no job is owned (true when ANALYZE ran), so the generic plan
  -- scanned every owned job and, for each, the whole unnest: batch x jobs in flight rows,
  -- 4.6 ms for 100 jobs instead of 1.7 ms by primary key (bench/README.md, throughput).
  AND j.status || '' IN ('in_queue', 'retry_in_queued', 'processing')
-- The wake-ups ride on the rows, so a batch is one statement: PostgreSQL sends one of identical
-- notifications per transaction. supervisor_done wakes supervisor.client.wait(); a failure
-- wakes the retry lanes.
RETURNING j.id, pg_notify('supervisor_done', ''),
          CASE WHEN u.status = 'failed' THEN pg_notify('supervisor_jobs', 'retry') END;

-- name: release_jobs
-- Hand back jobs this process took but did not finish, without using an attempt:
-- a job that never failed goes back to 'open', a retry back to 'failed', due now.
-- `status || ''`: see finish_jobs.
UPDATE jobs j
SET status = CASE WHEN j.attempts = 0 THEN 'open' ELSE 'failed' END,
    run_after = CASE WHEN j.attempts = 0 THEN NULL ELSE now() END,
    node_id = NULL, started_at = NULL, updated_at = now()
FROM unnest($1::bigint[], $2::bigint[]) AS u(id, token)
WHERE j.id = u.id AND j.token = u.token
  AND j.status || '' IN ('in_queue', 'retry_in_queued', 'processing')
RETURNING j.id, pg_notify('supervisor_jobs', 'open');

-- name: save_checkpoint
-- Fenced like every write of a running job: a job taken over elsewhere keeps the new owner's.
UPDATE jobs SET checkpoint = $3, updated_at = now()
WHERE id = $1 AND token = $2 AND status IN ('in_queue', 'retry_in_queued', 'processing');

-- name: set_progress
UPDATE jobs SET progress = $3, updated_at = now()
WHERE id = $1 AND token = $2 AND status = 'processing';

-- name: get_job
-- ran_on: the host and pid of the process that holds or last ran the job, while it is known.
SELECT j.*, n.hostname || ':' || n.pid AS ran_on
FROM jobs j LEFT JOIN nodes n ON n.id = j.node_id
WHERE j.uuid = $1;

-- name: list_jobs
-- The cursor is an index condition (coalesce, not "IS NULL OR"), so pages start at it even in
-- a generic plan; a type filter has its own query that walks jobs_type_idx.
SELECT * FROM jobs
WHERE ($1::text[] IS NULL OR status = ANY($1))
  AND id < coalesce($2::bigint, 9223372036854775807)
ORDER BY id DESC
LIMIT $3;

-- name: list_jobs_of_type
SELECT * FROM jobs
WHERE job_type = $2
  AND ($1::text[] IS NULL OR status = ANY($1))
  AND id < coalesce($3::bigint, 9223372036854775807)
ORDER BY job_type DESC, id DESC
LIMIT $4;

-- name: cancel_job
-- Bumping the token fences a runner that is still working on the job.
UPDATE jobs
SET status = 'cancelled', token = token + 1, run_after = NULL, finished_at = now(),
    updated_at = now()
WHERE uuid = $1 AND status IN ('open', 'in_queue', 'processing', 'failed', 'retry_in_queued')
RETURNING *, pg_notify('supervisor_cancel', uuid::text) AS notified;

-- name: retry_job_now
-- A failed, dead or cancelled job becomes due again at once with its retries renewed; its runs
-- keep their numbers (attempts goes on counting) and the old run's times are cleared.
UPDATE jobs
SET status = 'open', retried_attempts = attempts, rescues = 0, run_after = NULL,
    node_id = NULL, started_at = NULL, finished_at = NULL, progress = NULL, updated_at = now()
WHERE uuid = $1 AND status IN ('failed', 'dead', 'cancelled')
RETURNING *, pg_notify('supervisor_jobs', 'open') AS notified;

-- name: count_by_state
SELECT job_type, status, count(*) AS n FROM jobs GROUP BY job_type, status;

-- name: count_unfinished_by_state
-- What /metrics shows: every state but 'completed' (the bulk of history; its rate is the
-- supervisor_jobs_finished_total counter). Each branch reads one partial index's rows only,
-- so the cost follows the backlog, not the table.
SELECT job_type, status, count(*) AS n FROM jobs WHERE status = 'open' GROUP BY 1, 2
UNION ALL
SELECT job_type, status, count(*) FROM jobs
WHERE status IN ('in_queue', 'retry_in_queued', 'processing') GROUP BY 1, 2
UNION ALL
SELECT job_type, status, count(*) FROM jobs WHERE status = 'failed' GROUP BY 1, 2
UNION ALL
SELECT job_type, status, count(*) FROM jobs WHERE status IN ('dead', 'cancelled') GROUP BY 1, 2;

-- name: oldest_ready_age
SELECT extract(epoch FROM now() - min(created_at)) FROM jobs
WHERE status = 'open' AND (run_after IS NULL OR run_after <= now());

-- name: notify_jobs
SELECT pg_notify('supervisor_jobs', $1);

-- name: strays_of_node
-- Jobs claimed for a process ($1) in a lane's queued status ($2) that it does not hold ($3):
-- a claim that committed while its answer was lost with the connection. Nobody would run them.
SELECT id, token FROM jobs
WHERE node_id = $1 AND status = $2 AND NOT (id = ANY($3::bigint[]));

-- name: held_jobs_taken
-- Of the jobs a process holds (id, token), those that are no longer its own: rescued by
-- another process, cancelled, or claimed again since. Fencing tokens only ever grow.
SELECT u.id, u.token FROM unnest($1::bigint[], $2::bigint[]) AS u(id, token)
LEFT JOIN jobs j ON j.id = u.id
WHERE j.id IS NULL OR j.token <> u.token OR j.node_id IS DISTINCT FROM $3::uuid;
