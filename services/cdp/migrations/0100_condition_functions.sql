-- segments: SQL helpers of the condition language (services/cdp/segments/condition/sql.py).

-- A JSON string read as an ISO 8601 time, NULL when it is not one. The pattern is TIME_RE of
-- condition/times.py: both evaluators must accept exactly the same strings. The day is checked
-- against the month before the cast, so a bad date is NULL instead of an error that would stop
-- a whole segmentation statement.
CREATE OR REPLACE FUNCTION cdp_segment_ts(v jsonb) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN jsonb_typeof(v) IS DISTINCT FROM 'string' THEN NULL
        WHEN (v #>> '{}') !~ ('^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])'
                             '([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?'
                             '(Z|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)?)?$') THEN NULL
        WHEN substr(v #>> '{}', 9, 2)::int > extract(day FROM
                 make_date(substr(v #>> '{}', 1, 4)::int, substr(v #>> '{}', 6, 2)::int, 1)
                 + interval '1 month - 1 day')::int THEN NULL
        -- an offset (only ever after a time) says the zone; without one the time is UTC
        WHEN (v #>> '{}') ~ '[T ][0-9:.]+(Z|[+-][0-9:]+)$' THEN (v #>> '{}')::timestamptz
        ELSE (v #>> '{}')::timestamp AT TIME ZONE 'UTC'
    END
$$;
