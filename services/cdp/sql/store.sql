-- Customer data store: events, sessions, profiles and sources.

-- name: cdp_ensure_partition
SELECT cdp_event_partition($1::timestamptz);

-- name: cdp_insert_events
-- Many events in one statement; an event already stored (same id and time) is skipped.
INSERT INTO cdp_events (id, insert_time, type, status, source_id, session_id, profile_id, doc)
SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[],
                     $6::text[], $7::text[], $8::jsonb[])
ON CONFLICT DO NOTHING
RETURNING id;

-- name: cdp_open_session
-- The session of a tracker payload: created if new; `created` and its status before this call.
INSERT INTO cdp_sessions AS s (id, profile_id, doc, status, insert_time, update_time)
VALUES ($1, $2, $3::jsonb, $4, $5, $5)
ON CONFLICT (id) DO UPDATE SET profile_id = coalesce(EXCLUDED.profile_id, s.profile_id)
RETURNING (xmax = 0) AS created, status;

-- name: cdp_close_session_update
-- After a payload: the session's status and update time, in the columns and the document.
UPDATE cdp_sessions
SET status = $2,
    update_time = greatest(update_time, $3),
    doc = jsonb_set(jsonb_set(doc, '{metadata,status}', to_jsonb($2::text)),
                    '{metadata,time,update}', to_jsonb($4::text))
WHERE id = $1;

-- name: cdp_touch_profile
-- The profile of a payload: created if new, else marked active again; a new session counts a
-- visit (visit.last <- visit.current, visit.current <- now). Returns whether it was created.
INSERT INTO cdp_profiles AS p (id, doc, active, insert_time, update_time, visit_count)
VALUES ($1, $2::jsonb, true, $3, $3, CASE WHEN $4::bool THEN 1 ELSE 0 END)
ON CONFLICT (id) DO UPDATE SET
    active = true,
    update_time = greatest(p.update_time, EXCLUDED.update_time),
    visit_count = p.visit_count + CASE WHEN $4::bool THEN 1 ELSE 0 END,
    doc = CASE WHEN $4::bool THEN
              jsonb_set(jsonb_set(p.doc, '{active}', 'true'), '{metadata,time,visit}',
                  coalesce(p.doc #> '{metadata,time,visit}', '{}'::jsonb) || jsonb_build_object(
                      'last', p.doc #> '{metadata,time,visit,current}',
                      'current', to_jsonb($5::text),
                      'count', p.visit_count + 1))
          ELSE jsonb_set(p.doc, '{active}', 'true') END
RETURNING (xmax = 0) AS created;

-- name: cdp_load_sessions
-- History load: sessions named by a batch of events, created if missing, times widened.
INSERT INTO cdp_sessions AS s (id, profile_id, doc, status, insert_time, update_time)
SELECT id, profile_id, doc, status, first, last
FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::text[], $5::timestamptz[],
            $6::timestamptz[]) AS t(id, profile_id, doc, status, first, last)
ON CONFLICT (id) DO UPDATE SET
    insert_time = least(s.insert_time, EXCLUDED.insert_time),
    update_time = greatest(s.update_time, EXCLUDED.update_time),
    profile_id = coalesce(s.profile_id, EXCLUDED.profile_id);

-- name: cdp_load_profiles
-- History load: profiles named by a batch of events, created if missing, times widened.
INSERT INTO cdp_profiles AS p (id, doc, insert_time, update_time)
SELECT id, doc, first, last
FROM unnest($1::text[], $2::jsonb[], $3::timestamptz[], $4::timestamptz[])
     AS t(id, doc, first, last)
ON CONFLICT (id) DO UPDATE SET
    insert_time = least(p.insert_time, EXCLUDED.insert_time),
    update_time = greatest(p.update_time, EXCLUDED.update_time);

-- name: cdp_get_event
SELECT doc FROM cdp_events WHERE id = $1 ORDER BY insert_time LIMIT 1;

-- name: cdp_get_session
SELECT doc, status, profile_id, insert_time, update_time FROM cdp_sessions WHERE id = $1;

-- name: cdp_get_profile
SELECT doc, active, visit_count, insert_time, update_time, segmentation_time
FROM cdp_profiles WHERE id = $1;

-- name: cdp_session_events
-- A session's events in time order (tests, the dashboard, the segmentation worker).
SELECT id, type, insert_time, source_id, profile_id, activity, doc
FROM cdp_events WHERE session_id = $1 ORDER BY insert_time, id;

-- name: cdp_source_add
INSERT INTO cdp_sources (id, name) VALUES ($1, $2)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name
RETURNING id, name, created_at;

-- name: cdp_source_list
SELECT id, name, created_at FROM cdp_sources ORDER BY id;

-- name: cdp_source_exists
SELECT EXISTS (SELECT 1 FROM cdp_sources WHERE id = $1);

-- name: cdp_session_and_profile
-- The documents of a session and its profile (the Elasticsearch mirror of a payload).
SELECT s.doc AS session, p.doc AS profile
FROM cdp_sessions s LEFT JOIN cdp_profiles p ON p.id = $2
WHERE s.id = $1;
