-- Segments, segment changes and trigger firing (services/cdp/segments).

-- name: seg_upsert
INSERT INTO cdp_segments AS s (id, name, description, event_type, kind, condition, workflow,
                               enabled)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description,
    event_type = EXCLUDED.event_type, kind = EXCLUDED.kind, condition = EXCLUDED.condition,
    workflow = EXCLUDED.workflow, enabled = EXCLUDED.enabled, updated_at = now()
RETURNING *, (xmax = 0) AS created;

-- name: seg_get
SELECT * FROM cdp_segments WHERE id = $1;

-- name: seg_list
SELECT * FROM cdp_segments ORDER BY id;

-- name: seg_set_enabled
UPDATE cdp_segments SET enabled = $2, updated_at = now() WHERE id = $1 RETURNING *;

-- name: seg_delete
DELETE FROM cdp_segments WHERE id = $1 RETURNING id;

-- name: seg_for_event_types
-- Post-event segmentation: enabled conditional segments listening to any of these types.
SELECT * FROM cdp_segments
WHERE enabled AND kind = 'condition' AND event_type && $1::text[]
ORDER BY id LIMIT 500;

-- name: seg_enabled
SELECT * FROM cdp_segments WHERE enabled AND kind = $1 ORDER BY id;

-- name: seg_page
-- The next $2 profiles after $1, for workflow segmentation.
SELECT id, doc FROM cdp_profiles WHERE id > $1 ORDER BY id LIMIT $2;

-- name: seg_queue_take
-- Profiles the heartbeat queued (QUALIFY_BY=profile-segmentation), taken once by one worker.
DELETE FROM segmentation_queue
WHERE profile_id IN (SELECT profile_id FROM segmentation_queue ORDER BY queued_at
                     LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING profile_id;

-- fragment: seg_fire_triggers
-- The jobs of the enabled trigger rules of each segment added (the `logged` rows, whose `fire`
-- says whether this statement fires triggers), one per change and rule: the uuid comes from
-- both, so a statement run again fires nothing twice. `changed` has each profile's new doc.
fired AS (
    INSERT INTO jobs (uuid, job_type, data, retry_count, retry_interval)
    SELECT md5(l.id::text || ':' || r.id)::uuid, r.job_type,
           cdp_trigger_data(r.job_data, c.doc, l.segment_id, r.id, l.id),
           r.retry_count, r.retry_interval
    FROM logged l
    JOIN changed c ON c.id = l.profile_id
    JOIN cdp_triggers r ON r.segment_id = l.segment_id AND r.enabled
    WHERE l.fire AND l.kind = 'segment-added'
    ON CONFLICT (uuid) DO NOTHING
    RETURNING 1
)

-- name: seg_apply
-- Conditional segmentation of the profiles with $1 < id <= $2, or with id in $3: one boolean
-- per segment id of $4 (the empty array marked /*hits*/ below is replaced by the compiled
-- conditions, whose parameters start at $10). Adds and removes those ids only (others stay),
-- stamps metadata.time.segmentation ($5, $6) on changed profiles, logs each change ($7 origin,
-- $8 job) and, when $9, creates the jobs of the trigger rules of added segments. A profile whose
-- segments changed meanwhile is skipped (the guard in `changed`), so a segment is added once.
WITH page AS MATERIALIZED (
    -- hits: the conditions; has: whether `old` holds each id (the /*has*/ slot, filled in the
    -- same way). Only rows where they differ go further.
    SELECT id, old, ARRAY[]::boolean[] /*hits*/ AS hits, ARRAY[]::boolean[] /*has*/ AS has
    FROM (SELECT id, doc,
                 CASE WHEN jsonb_typeof(doc -> 'segments') = 'array' THEN doc -> 'segments'
                      ELSE '[]'::jsonb END AS old
          FROM cdp_profiles
          WHERE (id > $1 AND id <= $2) OR id = ANY($3::text[])) AS src
), delta AS MATERIALIZED (
    SELECT id, old,
           ARRAY(SELECT s FROM unnest($4::text[], hits) AS u(s, hit)
                 WHERE hit AND NOT old ? s) AS added,
           ARRAY(SELECT s FROM unnest($4::text[], hits) AS u(s, hit)
                 WHERE NOT hit AND old ? s) AS removed
    FROM page WHERE hits IS DISTINCT FROM has
), changed AS (
    UPDATE cdp_profiles p
    SET doc = jsonb_set(jsonb_set(p.doc, '{segments}',
                  (SELECT COALESCE(jsonb_agg(e ORDER BY n), '[]'::jsonb)
                   FROM jsonb_array_elements(d.old) WITH ORDINALITY AS x(e, n)
                   WHERE NOT (jsonb_typeof(e) = 'string' AND (e #>> '{}') = ANY(d.removed)))
                  || to_jsonb(d.added)),
              '{metadata,time,segmentation}', to_jsonb($5::text)),
        segmentation_time = $6
    FROM delta d
    WHERE p.id = d.id AND (cardinality(d.added) > 0 OR cardinality(d.removed) > 0)
      AND ((p.id > $1 AND p.id <= $2) OR p.id = ANY($3::text[]))  -- the page, for the planner
      AND (CASE WHEN jsonb_typeof(p.doc -> 'segments') = 'array' THEN p.doc -> 'segments'
                ELSE '[]'::jsonb END) = d.old
    RETURNING p.id, p.doc, d.added, d.removed
), logged AS (
    INSERT INTO cdp_segment_changes (profile_id, segment_id, kind, origin, job_uuid)
    SELECT c.id, s, 'segment-added', $7::text, $8::uuid FROM changed c, unnest(c.added) AS s
    UNION ALL
    SELECT c.id, s, 'segment-removed', $7::text, $8::uuid FROM changed c, unnest(c.removed) AS s
    RETURNING id, profile_id, segment_id, kind, $9::boolean AS fire
),
-- include: seg_fire_triggers
SELECT (SELECT count(*) FROM changed) AS profiles,
       (SELECT count(*) FROM logged WHERE kind = 'segment-added') AS added,
       (SELECT count(*) FROM logged WHERE kind = 'segment-removed') AS removed,
       (SELECT count(*) FROM fired) AS fired;

-- name: seg_apply_decisions
-- Workflow segmentation of one page: profile $1[i] belongs to segment $3 when $2[i]. Adds or
-- removes that one id, like seg_apply ($4, $5 stamp; $6 job; $7 triggers on).
WITH page AS MATERIALIZED (
    SELECT p.id,
           CASE WHEN jsonb_typeof(p.doc -> 'segments') = 'array' THEN p.doc -> 'segments'
                ELSE '[]'::jsonb END AS old,
           u.hit
    FROM unnest($1::text[], $2::boolean[]) AS u(id, hit) JOIN cdp_profiles p ON p.id = u.id
), delta AS MATERIALIZED (
    SELECT id, old,
           CASE WHEN hit AND NOT old ? $3 THEN ARRAY[$3::text] ELSE '{}'::text[] END AS added,
           CASE WHEN NOT hit AND old ? $3 THEN ARRAY[$3::text] ELSE '{}'::text[] END AS removed
    FROM page
), changed AS (
    UPDATE cdp_profiles p
    SET doc = jsonb_set(jsonb_set(p.doc, '{segments}',
                  (SELECT COALESCE(jsonb_agg(e ORDER BY n), '[]'::jsonb)
                   FROM jsonb_array_elements(d.old) WITH ORDINALITY AS x(e, n)
                   WHERE NOT (jsonb_typeof(e) = 'string' AND (e #>> '{}') = ANY(d.removed)))
                  || to_jsonb(d.added)),
              '{metadata,time,segmentation}', to_jsonb($4::text)),
        segmentation_time = $5
    FROM delta d
    WHERE p.id = d.id AND (cardinality(d.added) > 0 OR cardinality(d.removed) > 0)
      AND (CASE WHEN jsonb_typeof(p.doc -> 'segments') = 'array' THEN p.doc -> 'segments'
                ELSE '[]'::jsonb END) = d.old
    RETURNING p.id, p.doc, d.added, d.removed
), logged AS (
    INSERT INTO cdp_segment_changes (profile_id, segment_id, kind, origin, job_uuid)
    SELECT c.id, s, 'segment-added', 'workflow', $6::uuid FROM changed c, unnest(c.added) AS s
    UNION ALL
    SELECT c.id, s, 'segment-removed', 'workflow', $6::uuid FROM changed c, unnest(c.removed) AS s
    RETURNING id, profile_id, segment_id, kind, $7::boolean AS fire
),
-- include: seg_fire_triggers
SELECT (SELECT count(*) FROM changed) AS profiles,
       (SELECT count(*) FROM logged WHERE kind = 'segment-added') AS added,
       (SELECT count(*) FROM logged WHERE kind = 'segment-removed') AS removed,
       (SELECT count(*) FROM fired) AS fired;

-- name: seg_post_event_add
-- Post-event segmentation of profile $1: add the segment ids of $2 it lacks (never removes),
-- log them (origin 'post-event') and, when $3, create the jobs of their trigger rules.
WITH cur AS (
    SELECT id, CASE WHEN jsonb_typeof(doc -> 'segments') = 'array' THEN doc -> 'segments'
                    ELSE '[]'::jsonb END AS old
    FROM cdp_profiles WHERE id = $1 FOR UPDATE
), delta AS MATERIALIZED (
    SELECT id, old, ARRAY(SELECT DISTINCT s FROM unnest($2::text[]) AS s
                          WHERE NOT old ? s ORDER BY s) AS added
    FROM cur
), changed AS (
    UPDATE cdp_profiles p SET doc = jsonb_set(p.doc, '{segments}', d.old || to_jsonb(d.added))
    FROM delta d WHERE p.id = d.id AND cardinality(d.added) > 0
    RETURNING p.id, p.doc, d.added
), logged AS (
    INSERT INTO cdp_segment_changes (profile_id, segment_id, kind, origin)
    SELECT c.id, s, 'segment-added', 'post-event' FROM changed c, unnest(c.added) AS s
    RETURNING id, profile_id, segment_id, kind, $3::boolean AS fire
),
-- include: seg_fire_triggers
SELECT (SELECT coalesce(array_agg(segment_id), '{}') FROM logged) AS added,
       (SELECT count(*) FROM fired) AS fired;

-- name: seg_changes
-- The segment changes of a profile ($1, or every profile when NULL), newest last.
SELECT * FROM cdp_segment_changes WHERE $1::text IS NULL OR profile_id = $1 ORDER BY id
LIMIT $2;

-- name: trig_upsert
INSERT INTO cdp_triggers AS t (id, name, type, segment_id, action, job_type, job_data,
                               retry_count, retry_interval, enabled)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, segment_id = EXCLUDED.segment_id,
    action = EXCLUDED.action, job_type = EXCLUDED.job_type, job_data = EXCLUDED.job_data,
    retry_count = EXCLUDED.retry_count, retry_interval = EXCLUDED.retry_interval,
    enabled = EXCLUDED.enabled
RETURNING *;

-- name: trig_get
SELECT * FROM cdp_triggers WHERE id = $1;

-- name: trig_list
SELECT * FROM cdp_triggers ORDER BY id;

-- name: trig_delete
DELETE FROM cdp_triggers WHERE id = $1 RETURNING id;

-- name: seg_enqueue_page
-- One page job of a workflow segment; its uuid comes from (segmentation job, segment, page),
-- so a retried segmentation job makes no second copy.
INSERT INTO jobs (uuid, job_type, data)
VALUES (md5($1::text || ':' || $2::text || ':' || $3::int::text)::uuid, $4, $5)
ON CONFLICT (uuid) DO NOTHING;

-- name: seg_profiles
SELECT id, doc FROM cdp_profiles WHERE id = ANY($1::text[]) ORDER BY id;

-- name: seg_segment_exists
SELECT EXISTS (SELECT 1 FROM cdp_segments WHERE id = $1);

-- name: seg_test
-- How many profiles a condition matches and the first $1 of them; both `true /*condition*/`
-- slots are replaced by the compiled condition (its parameters from $2).
SELECT (SELECT count(*) FROM cdp_profiles WHERE true /*condition*/) AS matched,
       ARRAY(SELECT id FROM cdp_profiles WHERE true /*condition*/ ORDER BY id LIMIT $1) AS ids;
