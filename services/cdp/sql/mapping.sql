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
