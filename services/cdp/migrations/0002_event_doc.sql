-- The document of an event written by SQL (the heartbeat's), shaped like the collector's.
CREATE FUNCTION cdp_event_doc(id text, type text, at timestamptz, source_id text,
                              session_id text, profile_id text, properties jsonb, config jsonb)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'id', id,
        'type', type,
        'name', initcap(replace(type, '-', ' ')),
        'metadata', jsonb_build_object(
            'time', jsonb_build_object(
                'insert', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')),
            'status', 'collected',
            'profile_less', profile_id IS NULL),
        'source', jsonb_build_object('id', source_id),
        'session', jsonb_build_object('id', session_id),
        'profile', CASE WHEN profile_id IS NULL THEN NULL
                        ELSE jsonb_build_object('id', profile_id) END,
        'properties', properties,
        'context', '{}'::jsonb,
        'config', config,
        'traits', '{}'::jsonb,
        'tags', jsonb_build_object('values', '[]'::jsonb, 'count', 0))
$$;
