-- name: register_node
INSERT INTO nodes (id, hostname, pid, roles) VALUES ($1, $2, $3, $4);

-- name: heartbeat_node
-- Re-creates the row if someone pruned it, so a live process never looks dead.
INSERT INTO nodes (id, hostname, pid, roles, info) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), info = EXCLUDED.info, stopped_at = NULL;

-- name: stop_node
UPDATE nodes SET stopped_at = now(), heartbeat_at = now() WHERE id = $1;

-- name: list_nodes
SELECT *, extract(epoch FROM now() - heartbeat_at) AS heartbeat_age FROM nodes
WHERE stopped_at IS NULL OR stopped_at > now() - interval '1 day'
ORDER BY started_at DESC;

-- name: rescue_orphans
-- Jobs held by a process that stopped heartbeating go back. A queued job was never started,
-- so it is simply re-opened; a running one counts a rescue and its error, and a job that
-- keeps taking its process down ($2 rescues) becomes 'dead' instead of looping forever.
-- The rescuing process ($3) never takes its own jobs: if its heartbeat is stale, it was away
-- itself, and it checks on its return which of its jobs others took (held_jobs_taken).
WITH live AS (
    SELECT id FROM nodes
    WHERE stopped_at IS NULL AND heartbeat_at >= now() - make_interval(secs => $1)
), orphans AS (
    SELECT j.id FROM jobs j
    WHERE j.status IN ('in_queue', 'retry_in_queued', 'processing')
      AND (j.node_id IS NULL OR j.node_id NOT IN (SELECT id FROM live))
      AND j.node_id IS DISTINCT FROM $3::uuid
    FOR UPDATE SKIP LOCKED
), fixed AS (
    SELECT j.id,
           j.status = 'processing' AS was_running,
           CASE WHEN j.status = 'processing' AND j.rescues + 1 >= $2 THEN 'dead'
                WHEN j.attempts = 0 THEN 'open'
                ELSE 'failed' END AS new_status
    FROM jobs j JOIN orphans o ON o.id = j.id
)
UPDATE jobs j
SET status = f.new_status,
    rescues = j.rescues + f.was_running::int,
    lost_claims = j.lost_claims + (NOT f.was_running)::int,
    token = j.token + 1,
    run_after = CASE WHEN f.new_status = 'failed' THEN now() ELSE NULL END,
    finished_at = CASE WHEN f.new_status = 'dead' THEN now() ELSE NULL END,
    job_response = CASE WHEN f.was_running THEN jsonb_set(j.job_response, '{runtime_errors}',
        coalesce(j.job_response -> 'runtime_errors', '[]'::jsonb) || jsonb_build_array(
            'interrupted: process ' || coalesce(j.node_id::text, '?')
            || ' stopped heartbeating while running this job'))
        ELSE j.job_response END,
    node_id = NULL, updated_at = now()
FROM fixed f WHERE j.id = f.id
RETURNING j.uuid, j.status, f.was_running, pg_notify('supervisor_jobs', 'open') AS notified;
