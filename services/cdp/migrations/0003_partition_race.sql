-- Two writers meeting a new month at once: the advisory lock does not refresh the catalog
-- cache, so the second may still try to create the partition; it now finds it made instead.
CREATE OR REPLACE FUNCTION cdp_event_partition(at timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    first_day timestamptz := date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    part text := 'cdp_events_' || to_char(first_day AT TIME ZONE 'UTC', 'YYYY_MM');
BEGIN
    IF to_regclass(part) IS NULL THEN
        PERFORM pg_advisory_xact_lock(hashtext(part));
        BEGIN
            EXECUTE format('CREATE TABLE %I PARTITION OF cdp_events FOR VALUES FROM (%L) TO (%L)',
                           part, first_day, first_day + interval '1 month');
        EXCEPTION WHEN duplicate_table OR unique_violation THEN
            NULL;  -- made by the other writer
        END;
    END IF;
    RETURN part;
END
$$;
