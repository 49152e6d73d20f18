-- The heartbeat job: one statement per page of candidate sessions (or profiles), in key order.
-- Each statement groups the page's events in [lo, hi], keeps the qualifying subjects, upserts
-- their mark (cdp_heartbeat_marks) and emits only for the marks it changed, so overlapping or
-- repeated runs emit nothing twice. Events of the heartbeat source are never activity.
-- Every query returns one row: examined (subjects in the page), last_key (where the next page
-- starts; NULL when the page was empty) and emitted (events written or queued).

-- fragment: hb_mark
-- The mark that makes a pass idempotent: a qualifying subject (qual.subject) is marked with
-- its last activity, and only a mark this statement inserted or moved forward emits. $6 now,
-- $8 mark kind.
marked AS (
    INSERT INTO cdp_heartbeat_marks AS m (kind, subject_id, stamp, marked_at)
    SELECT $8, subject, last_activity, $6 FROM qual
    ON CONFLICT (kind, subject_id) DO UPDATE
        SET stamp = EXCLUDED.stamp, marked_at = EXCLUDED.marked_at
        WHERE m.stamp < EXCLUDED.stamp
    RETURNING subject_id
)

-- fragment: hb_store_emitted
-- The emitted events (emit: id, session_id, profile_id, properties) stored as documents of the
-- heartbeat source, unless EPHEMERAL. $6 now, $7 event type, $9 source, $10 persist, $11 config.
ins AS (
    INSERT INTO cdp_events (id, insert_time, type, status, source_id, session_id, profile_id, doc)
    SELECT id, $6, $7, 'collected', $9, session_id, profile_id,
           cdp_event_doc(id, $7, $6, $9, session_id, profile_id, properties, $11)
    FROM emit WHERE $10::bool
    RETURNING id
)

-- fragment: hb_counts
-- The one row every pass statement answers.
SELECT (SELECT count(*) FROM grp) AS examined, (SELECT max(subject) FROM grp) AS last_key,
       (SELECT count(*) FROM emit) AS emitted, (SELECT count(*) FROM ins) AS stored

-- name: cdp_hb_inactive_session
-- inactive-session and session-not-closed: quiet since before $5 (cut) and no $7 event after
-- the last activity. $1 lo, $2 hi, $3 after, $4 page, $6 now, $7 event type, $8 mark kind,
-- $9 heartbeat source, $10 persist the events, $11 their config.
WITH grp AS (
    SELECT session_id AS subject,
           max(insert_time) FILTER (WHERE activity) AS last_activity,
           max(insert_time) FILTER (WHERE type = $7) AS last_flag
    FROM cdp_events
    WHERE insert_time >= $1 AND insert_time <= $2 AND session_id > $3
    GROUP BY session_id
    ORDER BY session_id
    LIMIT $4
), qual AS (
    -- One index probe per candidate (a join would hash the whole sessions table per page).
    SELECT g.subject, g.last_activity,
           (SELECT s.profile_id FROM cdp_sessions s WHERE s.id = g.subject) AS profile_id
    FROM grp g
    WHERE g.last_activity < $5 AND (g.last_flag IS NULL OR g.last_flag < g.last_activity)
),
-- include: hb_mark
, emit AS (
    SELECT gen_random_uuid()::text AS id, q.subject AS session_id, q.profile_id,
           '{}'::jsonb AS properties
    FROM qual q JOIN marked k ON k.subject_id = q.subject
),
-- include: hb_store_emitted
-- include: hb_counts

-- name: cdp_hb_visit_end
-- visit-end: the latest $12 (open) in range has no later $7 (close) and the session is quiet
-- since before $5; emits $7 and sets the session's status to 'ended'. Parameters as above.
WITH grp AS (
    SELECT session_id AS subject,
           max(insert_time) FILTER (WHERE activity) AS last_activity,
           max(insert_time) FILTER (WHERE type = $12) AS last_open,
           max(insert_time) FILTER (WHERE type = $7) AS last_close
    FROM cdp_events
    WHERE insert_time >= $1 AND insert_time <= $2 AND session_id > $3
    GROUP BY session_id
    ORDER BY session_id
    LIMIT $4
), qual AS (
    -- One index probe per candidate (a join would hash the whole sessions table per page).
    SELECT g.subject, g.last_activity,
           (SELECT s.profile_id FROM cdp_sessions s WHERE s.id = g.subject) AS profile_id
    FROM grp g
    WHERE g.last_open IS NOT NULL AND g.last_activity < $5
      AND (g.last_close IS NULL OR g.last_close < g.last_open)
),
-- include: hb_mark
, emit AS (
    SELECT gen_random_uuid()::text AS id, q.subject AS session_id, q.profile_id,
           '{}'::jsonb AS properties
    FROM qual q JOIN marked k ON k.subject_id = q.subject
),
-- include: hb_store_emitted
, ended AS (
    UPDATE cdp_sessions s
    SET status = 'ended', doc = jsonb_set(s.doc, '{metadata,status}', '"ended"')
    FROM emit WHERE s.id = emit.session_id
    RETURNING s.id
)
-- include: hb_counts

-- name: cdp_hb_inactive_profile
-- inactive-profile: a profile quiet since before $5 with no $7 after its last activity; emits
-- $7 with {reason} and sets profile.active = false. $12 is SKIP_SECONDS (for the reason).
WITH grp AS (
    SELECT profile_id AS subject,
           max(insert_time) FILTER (WHERE activity) AS last_activity,
           max(insert_time) FILTER (WHERE type = $7) AS last_flag
    FROM cdp_events
    WHERE insert_time >= $1 AND insert_time <= $2 AND profile_id > $3
    GROUP BY profile_id
    ORDER BY profile_id
    LIMIT $4
), qual AS (
    SELECT g.subject, g.last_activity
    FROM grp g
    WHERE g.last_activity < $5 AND (g.last_flag IS NULL OR g.last_flag < g.last_activity)
      AND EXISTS (SELECT 1 FROM cdp_profiles p WHERE p.id = g.subject)
),
-- include: hb_mark
, emit AS (
    SELECT gen_random_uuid()::text AS id, NULL::text AS session_id, q.subject AS profile_id,
           jsonb_build_object('reason', format(
               'no activity since %s (SKIP_SECONDS=%s)',
               to_char(q.last_activity AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
               $12::bigint)) AS properties
    FROM qual q JOIN marked k ON k.subject_id = q.subject
),
-- include: hb_store_emitted
, flagged AS (
    UPDATE cdp_profiles p
    SET active = false, doc = jsonb_set(p.doc, '{active}', 'false')
    FROM emit WHERE p.id = emit.profile_id
    RETURNING p.id
)
-- include: hb_counts

-- name: cdp_hb_profile_segmentation
-- profile-segmentation: profiles with activity in range and none since $5 (now minus
-- NO_EVENTS_WITHIN_LAST), not segmented since their last activity, go to segmentation_queue.
-- $6 now, $8 mark kind, $7 the queue's reason. Nothing is stored as an event (ins is empty).
WITH grp AS (
    SELECT profile_id AS subject, max(insert_time) FILTER (WHERE activity) AS last_activity
    FROM cdp_events
    WHERE insert_time >= $1 AND insert_time <= $2 AND profile_id > $3
    GROUP BY profile_id
    ORDER BY profile_id
    LIMIT $4
), qual AS (
    SELECT g.subject, g.last_activity
    FROM grp g
    WHERE g.last_activity < $5
      AND EXISTS (SELECT 1 FROM cdp_profiles p WHERE p.id = g.subject
                  AND (p.segmentation_time IS NULL OR p.segmentation_time < g.last_activity))
      AND NOT EXISTS (SELECT 1 FROM cdp_events x
                      WHERE x.profile_id = g.subject AND x.activity
                        AND x.insert_time >= $5 AND x.insert_time <= $6)
),
-- include: hb_mark
, emit AS (
    INSERT INTO segmentation_queue AS sq (profile_id, last_activity, queued_at, reason)
    SELECT q.subject, q.last_activity, $6, $7
    FROM qual q JOIN marked k ON k.subject_id = q.subject
    ON CONFLICT (profile_id) DO UPDATE
        SET last_activity = EXCLUDED.last_activity, queued_at = EXCLUDED.queued_at,
            reason = EXCLUDED.reason
        WHERE sq.last_activity < EXCLUDED.last_activity
    RETURNING profile_id
), ins AS (
    SELECT NULL::text AS id WHERE false
)
-- include: hb_counts

-- name: cdp_hb_has_event
-- has-event (legacy): profiles with activity in range and no $7 since $5 (now minus
-- SKIP_SECONDS) get one $7 event; the mark holds when it beat, so its own guard (not hb_mark).
WITH grp AS (
    SELECT profile_id AS subject, max(insert_time) FILTER (WHERE activity) AS last_activity
    FROM cdp_events
    WHERE insert_time >= $1 AND insert_time <= $2 AND profile_id > $3
    GROUP BY profile_id
    ORDER BY profile_id
    LIMIT $4
), qual AS (
    SELECT g.subject FROM grp g
    WHERE g.last_activity IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM cdp_events x
                      WHERE x.profile_id = g.subject AND x.type = $7
                        AND x.insert_time > $5 AND x.insert_time <= $6)
), marked AS (
    INSERT INTO cdp_heartbeat_marks AS m (kind, subject_id, stamp, marked_at)
    SELECT $8, subject, $6, $6 FROM qual
    ON CONFLICT (kind, subject_id) DO UPDATE
        SET stamp = EXCLUDED.stamp, marked_at = EXCLUDED.marked_at
        WHERE m.stamp <= $5
    RETURNING subject_id
), emit AS (
    SELECT gen_random_uuid()::text AS id, NULL::text AS session_id, k.subject_id AS profile_id,
           '{}'::jsonb AS properties
    FROM marked k
),
-- include: hb_store_emitted
-- include: hb_counts

-- name: cdp_hb_mark_newer
-- The Elasticsearch heartbeat's guard: mark subjects whose stamp is newer than their mark;
-- returns the subjects marked now (the ones to emit for). $1 kind, $2 ids, $3 stamps, $4 now.
INSERT INTO cdp_heartbeat_marks AS m (kind, subject_id, stamp, marked_at)
SELECT $1, id, stamp, $4 FROM unnest($2::text[], $3::timestamptz[]) AS t(id, stamp)
ON CONFLICT (kind, subject_id) DO UPDATE
    SET stamp = EXCLUDED.stamp, marked_at = EXCLUDED.marked_at
    WHERE m.stamp < EXCLUDED.stamp
RETURNING subject_id;

-- name: cdp_hb_mark_due
-- has-event's guard on Elasticsearch: mark subjects last beaten at or before $3 (now minus
-- SKIP_SECONDS) with $4 (now); returns the subjects marked now. $1 kind, $2 ids.
INSERT INTO cdp_heartbeat_marks AS m (kind, subject_id, stamp, marked_at)
SELECT $1, id, $4, $4 FROM unnest($2::text[]) AS t(id)
ON CONFLICT (kind, subject_id) DO UPDATE
    SET stamp = EXCLUDED.stamp, marked_at = EXCLUDED.marked_at
    WHERE m.stamp <= $3
RETURNING subject_id;

-- name: cdp_queue_segmentation
-- Profiles for segmentation found by the Elasticsearch heartbeat. $1 ids, $2 last activities,
-- $3 now, $4 reason.
INSERT INTO segmentation_queue AS sq (profile_id, last_activity, queued_at, reason)
SELECT id, at, $3, $4 FROM unnest($1::text[], $2::timestamptz[]) AS t(id, at)
ON CONFLICT (profile_id) DO UPDATE
    SET last_activity = EXCLUDED.last_activity, queued_at = EXCLUDED.queued_at,
        reason = EXCLUDED.reason
    WHERE sq.last_activity < EXCLUDED.last_activity
RETURNING profile_id;
