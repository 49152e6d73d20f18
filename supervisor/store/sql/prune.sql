-- name: prune_lock
-- One pruner at a time in the whole cluster; held until the batch's transaction ends.
SELECT pg_try_advisory_xact_lock(7415202612);

-- name: prune_jobs
-- Finished jobs in state $1 that ended more than $2 seconds ago, at most $3 of them. Only old
-- pages are visited: a job ends after it is created, so the BRIN index on created_at narrows
-- the scan to them.
DELETE FROM jobs WHERE id IN (
    SELECT id FROM jobs
    WHERE status = $1
      AND created_at < now() - make_interval(secs => $2)
      AND coalesce(finished_at, updated_at) < now() - make_interval(secs => $2)
    LIMIT $3
    FOR UPDATE SKIP LOCKED);

-- name: prune_schedule_events
DELETE FROM schedule_events WHERE id IN (
    SELECT id FROM schedule_events
    WHERE created_at < now() - make_interval(secs => $1)
    LIMIT $2);

-- name: prune_stopped_nodes
-- Processes stopped (or silent) for longer than $1 seconds that hold no job.
DELETE FROM nodes n WHERE n.id IN (
    SELECT id FROM nodes
    WHERE coalesce(stopped_at, heartbeat_at) < now() - make_interval(secs => $1)
    LIMIT $2)
  AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.node_id = n.id
                  AND j.status IN ('in_queue', 'retry_in_queued', 'processing'));
