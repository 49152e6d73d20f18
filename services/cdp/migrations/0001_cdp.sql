-- Customer data: events (partitioned by month), sessions, profiles, event sources, and the
-- bookkeeping of the heartbeat job. Each record is kept whole as `doc` (the Tracardi data model:
-- id, type, metadata.time.insert, metadata.status, source.id, session.id, profile.id, ...);
-- the fields queries filter on are columns too, and writers keep both in step.

CREATE TABLE cdp_sources (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cdp_profiles (
    id                 text PRIMARY KEY,
    doc                jsonb NOT NULL,
    active             boolean NOT NULL DEFAULT true,       -- doc.active
    insert_time        timestamptz NOT NULL,                -- doc.metadata.time.insert
    update_time        timestamptz NOT NULL,                -- doc.metadata.time.update
    segmentation_time  timestamptz,                         -- doc.metadata.time.segmentation
    visit_count        integer NOT NULL DEFAULT 0           -- doc.metadata.time.visit.count
);
CREATE INDEX cdp_profiles_update ON cdp_profiles (update_time);

CREATE TABLE cdp_sessions (
    id           text PRIMARY KEY,
    profile_id   text,                                      -- doc.profile.id
    doc          jsonb NOT NULL,
    status       text NOT NULL DEFAULT 'active',            -- doc.metadata.status
    insert_time  timestamptz NOT NULL,                      -- doc.metadata.time.insert
    update_time  timestamptz NOT NULL                       -- doc.metadata.time.update
);
CREATE INDEX cdp_sessions_profile ON cdp_sessions (profile_id);

-- One partition per calendar month (UTC) of metadata.time.insert, created on demand by
-- cdp_event_partition(); a RANGE scan touches only its months, and an old month is a DROP.
CREATE TABLE cdp_events (
    id           text NOT NULL,
    insert_time  timestamptz NOT NULL,                      -- doc.metadata.time.insert
    type         text NOT NULL,                             -- doc.type (normalised)
    status       text NOT NULL DEFAULT 'collected',         -- doc.metadata.status
    source_id    text,                                      -- doc.source.id
    session_id   text,                                      -- doc.session.id
    profile_id   text,                                      -- doc.profile.id
    -- Events of the heartbeat source are never customer activity.
    activity     boolean GENERATED ALWAYS AS
                 (source_id IS NULL OR source_id NOT LIKE '@heartbeats-%') STORED,
    doc          jsonb NOT NULL,
    PRIMARY KEY (id, insert_time)
) PARTITION BY RANGE (insert_time);
-- The heartbeat walks sessions (or profiles) in key order; the INCLUDE columns let it decide
-- from the index alone.
CREATE INDEX cdp_events_session ON cdp_events (session_id, insert_time) INCLUDE (type, activity);
CREATE INDEX cdp_events_profile ON cdp_events (profile_id, insert_time) INCLUDE (type, activity);

CREATE FUNCTION cdp_event_partition(at timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    first_day timestamptz := date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    part text := 'cdp_events_' || to_char(first_day AT TIME ZONE 'UTC', 'YYYY_MM');
BEGIN
    IF to_regclass(part) IS NULL THEN
        -- Two writers meeting a new month at once: the second waits, then finds it made.
        PERFORM pg_advisory_xact_lock(hashtext(part));
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF cdp_events FOR VALUES FROM (%L) TO (%L)',
                           part, first_day, first_day + interval '1 month');
        END IF;
    END IF;
    RETURN part;
END
$$;

-- What the heartbeat already answered: one row per (mode and event type, session or profile),
-- stamped with the last activity it covered (has-event: when it beat). Overlapping runs upsert
-- here first and emit only for the rows they changed, so a second run emits nothing.
CREATE TABLE cdp_heartbeat_marks (
    kind        text NOT NULL,
    subject_id  text NOT NULL,
    stamp       timestamptz NOT NULL,
    marked_at   timestamptz NOT NULL,
    PRIMARY KEY (kind, subject_id)
);

-- Profiles that QUALIFY_BY=profile-segmentation found idle, waiting for segmentation. The
-- segmentation worker takes rows (DELETE ... RETURNING) and sets the profile's
-- segmentation_time; a profile is queued again only after newer activity.
CREATE TABLE segmentation_queue (
    profile_id     text PRIMARY KEY,
    last_activity  timestamptz NOT NULL,
    queued_at      timestamptz NOT NULL,
    reason         text NOT NULL
);
CREATE INDEX segmentation_queue_queued ON segmentation_queue (queued_at);
