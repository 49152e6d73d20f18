-- segments: conditional and workflow segments, the log of segment changes, trigger rules and
-- event-to-profile mappings (services/cdp/segments, services/cdp/mapping.py).

-- A segment; id is name lower-cased with spaces as '-'. kind 'condition' holds `condition`
-- (the condition language on profile@ fields); kind 'workflow' names the job type (`workflow`)
-- whose code decides, page by page.
CREATE TABLE cdp_segments (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    event_type   text[] NOT NULL DEFAULT '{}',
    kind         text NOT NULL DEFAULT 'condition' CHECK (kind IN ('condition', 'workflow')),
    condition    text,
    workflow     text,
    enabled      boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'condition') = (condition IS NOT NULL)),
    CHECK ((kind = 'workflow') = (workflow IS NOT NULL))
);
-- Post-event segmentation looks segments up by the event types of a payload.
CREATE INDEX cdp_segments_event_type ON cdp_segments USING gin (event_type) WHERE enabled;

-- Every segment a profile gained or lost, written in the statement that changed the profile:
-- the segment-added / segment-removed records the trigger rules consume.
CREATE TABLE cdp_segment_changes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    profile_id  text NOT NULL,
    segment_id  text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('segment-added', 'segment-removed')),
    origin      text NOT NULL,           -- 'post-event', 'segmentation' or 'workflow'
    job_uuid    uuid,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cdp_segment_changes_profile ON cdp_segment_changes (profile_id, id);

-- A trigger rule: when segment_id is added to a profile, create one job. The action the user
-- wrote (`action`) is kept as given; job_type, job_data (a template: top-level strings
-- 'profile@path', '@segment', '@rule', '@profile_id', '@change' are filled in) and the retry
-- policy are what it compiles to.
CREATE TABLE cdp_triggers (
    id              text PRIMARY KEY,
    name            text NOT NULL,
    type            text NOT NULL DEFAULT 'segment-add' CHECK (type = 'segment-add'),
    segment_id      text NOT NULL,
    action          jsonb NOT NULL,
    job_type        text NOT NULL,
    job_data        jsonb NOT NULL,
    retry_count     integer NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
    retry_interval  integer NOT NULL DEFAULT 30 CHECK (retry_interval >= 0),
    enabled         boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cdp_triggers_segment ON cdp_triggers (segment_id) WHERE enabled;

-- A job's data from a rule's template, a profile and the change that fired it.
CREATE FUNCTION cdp_trigger_data(template jsonb, doc jsonb, segment_id text, rule_id text,
                                 change_id bigint) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(jsonb_object_agg(k, CASE
        WHEN jsonb_typeof(v) IS DISTINCT FROM 'string' THEN v
        WHEN v #>> '{}' = '@segment' THEN to_jsonb(segment_id)
        WHEN v #>> '{}' = '@rule' THEN to_jsonb(rule_id)
        WHEN v #>> '{}' = '@change' THEN to_jsonb(change_id)
        WHEN v #>> '{}' = '@profile_id' THEN doc -> 'id'
        WHEN v #>> '{}' LIKE 'profile@%' THEN COALESCE(
            doc #> COALESCE(string_to_array(NULLIF(substr(v #>> '{}', 9), ''), '.'), '{}'),
            'null'::jsonb)
        ELSE v END), '{}'::jsonb)
    FROM jsonb_each(template) AS e(k, v)
$$;

-- An event-to-profile mapping: for events of event_type (when `condition` holds), copy
-- event values to profile fields; event_to_profile is [{event: {value}, op, profile: {value}}].
CREATE TABLE cdp_mappings (
    id                text PRIMARY KEY,
    name              text NOT NULL,
    event_type        text NOT NULL,
    enabled           boolean NOT NULL DEFAULT true,
    condition         text,
    event_to_profile  jsonb NOT NULL,
    tags              text[] NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cdp_mappings_event_type ON cdp_mappings (event_type) WHERE enabled;
