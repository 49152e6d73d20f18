-- Event-to-profile mappings and their replay (services/cdp/mapping.py, mapping_store.py).

-- name: map_upsert
INSERT INTO cdp_mappings AS m (id, name, event_type, enabled, condition, event_to_profile, tags)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, event_type = EXCLUDED.event_type,
    enabled = EXCLUDED.enabled, condition = EXCLUDED.condition,
    event_to_profile = EXCLUDED.event_to_profile, tags = EXCLUDED.tags, updated_at = now()
RETURNING id;

-- name: map_records
-- Mappings as records ($1: only this id; $2: only enabled ones; $3: only these event types).
SELECT id, enabled, jsonb_build_object(
           'id', id, 'name', name, 'event_type', jsonb_build_object('id', event_type),
           'enabled', enabled,
           'config', CASE WHEN condition IS NULL THEN '{}'::jsonb
                          ELSE jsonb_build_object('condition', condition) END,
           'event_to_profile', event_to_profile, 'tags', to_jsonb(tags)) AS record
FROM cdp_mappings
WHERE ($1::text IS NULL OR id = $1) AND (NOT $2::boolean OR enabled)
  AND ($3::text[] IS NULL OR event_type = ANY($3::text[]))
ORDER BY id;

-- name: map_set_enabled
UPDATE cdp_mappings SET enabled = $2, updated_at = now() WHERE id = $1 RETURNING id;

-- name: map_delete
DELETE FROM cdp_mappings WHERE id = $1 RETURNING id;

-- name: map_lock_profiles
SELECT id, doc FROM cdp_profiles WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE;

-- name: map_save_profiles
UPDATE cdp_profiles p SET doc = u.doc
FROM unnest($1::text[], $2::jsonb[]) AS u(id, doc)
WHERE p.id = u.id AND p.doc IS DISTINCT FROM u.doc;

-- name: map_replay_profiles
-- The next $4 profile ids after $1 with events of types $5 inserted in [$2, $3).
SELECT DISTINCT profile_id FROM cdp_events
WHERE insert_time >= $2 AND insert_time < $3 AND type = ANY($5::text[])
  AND profile_id IS NOT NULL AND profile_id > $1
ORDER BY profile_id LIMIT $4;

-- name: map_replay_events
-- Those profiles' events of types $4 in [$2, $3), in the order they were collected; of each
-- document only the top-level keys $5 the mappings read (all of it when $5 is NULL).
SELECT profile_id,
       CASE WHEN $5::text[] IS NULL THEN doc
            ELSE (SELECT jsonb_object_agg(k, doc -> k) FROM unnest($5::text[]) AS k
                  WHERE doc ? k) END AS doc
FROM cdp_events
WHERE profile_id = ANY($1::text[]) AND insert_time >= $2 AND insert_time < $3
  AND type = ANY($4::text[])
ORDER BY profile_id, insert_time, id;

-- name: map_page_memory
-- work_mem $1 for the rest of this transaction: a page's sorts and its calc rows stay in memory.
SELECT set_config('work_mem', $1, true);

-- name: map_replay_page
-- The mapping replay of the profiles with $1 < id <= $2 in one statement, over their events of
-- types $5 inserted in [$3, $4). services/cdp/mapping_sql.py fills the slots (each marked with
-- its name in a comment) with expressions for each rule N, parameters from $6 on:
--   gates   per event: gM, whether mapping M applies to it (its event type and condition);
--   values  per event: vN, the rule's source value (JSON null when missing; SQL NULL when its
--           mapping's gate is false);
--   windows per event: okN, whether the value is taken (filled; for an append rule, not an
--           object either), and for an append rule rN, 1 where that value first appears;
--   folds   per profile: the rule's taken values folded in (insert_time, id) order (NULL:
--           none) and, for an append rule, whether one of them was a list;
--   skips   per profile: how many of the rule's values were not taken;
--   finals  the value to write at the rule's target given the profile's doc, NULL: none;
--   doc     the new doc: cdp_map_set of each final value;
--   blocked whether a final value could not be written (the path runs through a non-object).
-- Only changed profiles are updated, and only while their doc is the one read (a concurrent
-- writer's profile is left out and counted in `raced`: the caller runs the page again). The
-- result: profiles with events, their events, profiles updated, raced, and per rule the
-- skipped values and blocked profiles.
WITH ev AS (
    SELECT e0.* /*windows*/
    FROM (SELECT e.profile_id, e.insert_time, e.id /*values*/
          FROM (SELECT e.profile_id, e.insert_time, e.id, e.doc /*gates*/
                FROM cdp_events e
                WHERE e.profile_id > $1 AND e.profile_id <= $2
                  AND e.insert_time >= $3 AND e.insert_time < $4 AND e.type = ANY($5::text[])
                OFFSET 0) AS e  -- a fence: each mapping's gate is tested once per event
          OFFSET 0) AS e0  -- a fence: each value is computed once per event
), per AS (
    SELECT profile_id, count(*) AS events,
           ARRAY[]::jsonb[] /*folds*/ AS folds, ARRAY[]::bigint[] /*skips*/ AS skips
    FROM ev
    GROUP BY profile_id
), finals AS (
    SELECT p.id, p.doc AS old, per.events, per.skips,
           ARRAY[]::jsonb[] /*finals*/ AS f
    FROM per JOIN cdp_profiles p ON p.id = per.profile_id
    WHERE p.id > $1 AND p.id <= $2
    OFFSET 0  -- a fence: the doc slot reads each final value, computed once
), calc AS MATERIALIZED (
    SELECT id, old, new, events, skips, ARRAY[]::boolean[] /*blocked*/ AS blocked
    FROM (SELECT id, old, old /*doc*/ AS new, events, skips, f FROM finals OFFSET 0) AS n
    -- (the fence again: blocked reads the new doc)
), changed AS (
    UPDATE cdp_profiles p SET doc = c.new
    FROM calc c
    WHERE p.id = c.id AND c.new IS DISTINCT FROM c.old AND p.doc = c.old
      AND p.id > $1 AND p.id <= $2  -- the page, for the planner
    RETURNING p.id
)
SELECT (SELECT count(*) FROM calc) AS profiles,
       (SELECT COALESCE(sum(events), 0) FROM calc)::bigint AS events,
       (SELECT count(*) FROM changed) AS updated,
       (SELECT count(*) FROM calc WHERE new IS DISTINCT FROM old) - (SELECT count(*) FROM changed)
           AS raced,
       ARRAY(SELECT COALESCE(sum(s), 0)::bigint FROM calc, unnest(skips) WITH ORDINALITY AS u(s, i)
             GROUP BY i ORDER BY i) AS skipped,
       ARRAY(SELECT count(*) FILTER (WHERE b) FROM calc, unnest(blocked) WITH ORDINALITY AS u(b, i)
             GROUP BY i ORDER BY i) AS blocked;
