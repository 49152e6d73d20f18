-- VQL's text_matches on PostgreSQL: `substring` (ILIKE), `exact` and `shuffle` (case-insensitive
-- word regexes) and `fuzzy` (word similarity, <%) are served by pg_trgm GIN indexes on the
-- text fields people search by name. pg_trgm is a trusted extension: a database owner may
-- create it. Where the server has no pg_trgm (the embedded PostgreSQL), nothing is created:
-- every match still works, by a scan, and `fuzzy` falls back to whole words.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX contacts_first_name_trgm ON contacts USING gin (first_name gin_trgm_ops);
        CREATE INDEX contacts_last_name_trgm ON contacts USING gin (last_name gin_trgm_ops);
        CREATE INDEX contacts_title_trgm ON contacts USING gin (title gin_trgm_ops);
        CREATE INDEX contacts_email_trgm ON contacts USING gin (email gin_trgm_ops);
        CREATE INDEX companies_name_trgm ON companies USING gin (name gin_trgm_ops);
        CREATE INDEX companies_normalized_domain_trgm
            ON companies USING gin (normalized_domain gin_trgm_ops);
    END IF;
END
$$;
