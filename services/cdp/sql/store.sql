-- Customer data store: events, sessions, profiles and sources.

-- name: cdp_ensure_partition
SELECT cdp_event_partition($1::timestamptz);

-- name: cdp_insert_events
-- Many events in one statement (documents as JSON text); one already stored (same id and
-- time) is skipped.
INSERT INTO cdp_events (id, insert_time, type, status, source_id, session_id, profile_id, doc)
SELECT id, at, type, status, source_id, session_id, profile_id, doc::jsonb
FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::text[], $8::text[])
     AS t(id, at, type, status, source_id, session_id, profile_id, doc)
ON CONFLICT DO NOTHING
RETURNING id;

-- name: cdp_collect
-- One tracker payload in one statement: the session and profile (created if new), the visit
-- lifecycle's system events, the payload's events and the session's status after them.
-- $1 session, $2 profile, $3 new session document, $4 now, $5 new profile document, $6 now as
-- ISO text, $7-$14 the payload's stored events (columns as in cdp_insert_events), $15 add
-- system events, $16 ids for profile-created, session-opened, visit-started, $17 the
-- visit-started properties, $18 the status the payload's own events leave (NULL: none),
-- $19 the internal source. Concurrent payloads of one session are serialised by the upsert's
-- row lock, so a reopened visit gets one visit-started.
WITH s AS (
    INSERT INTO cdp_sessions AS s (id, profile_id, doc, status, insert_time, update_time,
                                   visit_started_at)
    SELECT $1, $2, jsonb_set($3::text::jsonb, '{metadata,status}', to_jsonb(st)), st, $4, $4,
           CASE WHEN $15::bool THEN $4::timestamptz END
    FROM (SELECT coalesce($18::text, CASE WHEN $15::bool THEN 'started' ELSE 'active' END)
                 AS st) AS first
    ON CONFLICT (id) DO UPDATE SET
        profile_id = coalesce(EXCLUDED.profile_id, s.profile_id),
        status = coalesce($18::text, CASE WHEN $15::bool AND s.status = 'ended'
                                          THEN 'started' END, s.status),
        update_time = greatest(s.update_time, $4),
        visit_started_at = CASE WHEN $15::bool AND s.status = 'ended' THEN $4::timestamptz
                                ELSE s.visit_started_at END,
        doc = jsonb_set(jsonb_set(s.doc, '{metadata,status}', to_jsonb(coalesce(
                  $18::text, CASE WHEN $15::bool AND s.status = 'ended' THEN 'started' END,
                  s.status))), '{metadata,time,update}', to_jsonb($6::text))
    -- The row as updated, under its lock: a visit this payload (re)opened starts at $4.
    RETURNING (xmax = 0) AS created, status, visit_started_at = $4::timestamptz AS opened
), flags AS (
    SELECT s.created, s.status, coalesce(s.opened, false) AS reopened FROM s
), p AS (
    INSERT INTO cdp_profiles AS p (id, doc, active, insert_time, update_time, visit_count)
    SELECT $2,
           CASE WHEN f.created THEN jsonb_set($5::text::jsonb, '{metadata,time,visit}',
                jsonb_build_object('last', NULL, 'current', $6::text, 'count', 1, 'tz', NULL))
           ELSE $5::text::jsonb END,
           true, $4, $4, CASE WHEN f.created THEN 1 ELSE 0 END
    FROM flags f
    ON CONFLICT (id) DO UPDATE SET
        active = true,
        update_time = greatest(p.update_time, EXCLUDED.update_time),
        visit_count = p.visit_count + EXCLUDED.visit_count,
        doc = CASE WHEN EXCLUDED.visit_count = 1 THEN
                  jsonb_set(jsonb_set(p.doc, '{active}', 'true'), '{metadata,time,visit}',
                      coalesce(p.doc #> '{metadata,time,visit}', '{}'::jsonb) ||
                      jsonb_build_object('last', p.doc #> '{metadata,time,visit,current}',
                                         'current', $6::text, 'count', p.visit_count + 1))
              ELSE jsonb_set(p.doc, '{active}', 'true') END
    RETURNING (xmax = 0) AS created
), sys AS (
    SELECT v.id, v.type, $4::timestamptz - v.back * interval '1 second' AS at, v.props
    FROM flags f CROSS JOIN p CROSS JOIN LATERAL (VALUES
        (($16::text[])[1], 'profile-created', 3, '{}'::jsonb, p.created),
        (($16::text[])[2], 'session-opened', 2, '{}'::jsonb, f.created),
        (($16::text[])[3], 'visit-started', 1, $17::text::jsonb, f.reopened)
    ) AS v(id, type, back, props, wanted)
    WHERE $15::bool AND v.wanted
), ins AS (
    INSERT INTO cdp_events (id, insert_time, type, status, source_id, session_id, profile_id,
                            doc)
    SELECT id, at, type, 'collected', $19::text, $1, $2,
           cdp_event_doc(id, type, at, $19::text, $1, $2, props, '{}'::jsonb)
    FROM sys
    UNION ALL
    SELECT id, at, type, status, source_id, session_id, profile_id, doc::jsonb
    FROM unnest($7::text[], $8::timestamptz[], $9::text[], $10::text[], $11::text[],
                $12::text[], $13::text[], $14::text[])
         AS t(id, at, type, status, source_id, session_id, profile_id, doc)
    ON CONFLICT DO NOTHING
    RETURNING id
)
SELECT f.created AS session_created, f.reopened, f.status, p.created AS profile_created,
       (SELECT count(*) FROM ins) AS stored
FROM flags f, p;

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

-- name: cdp_page_end
-- The last profile id of the next $2 profiles after $1 (NULL when none are left), and how many
-- profiles that page holds (fewer than $2 at the end).
SELECT max(id) AS upto, count(*) AS profiles
FROM (SELECT id FROM cdp_profiles WHERE id > $1 ORDER BY id LIMIT $2) AS page;

-- name: cdp_profiles_count
SELECT count(*) FROM cdp_profiles;

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
