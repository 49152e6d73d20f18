-- Named queries of insert_csv_file. The *_import tables are the session's TEMP tables (see
-- migrations/0002): create_*_import run first on a connection, before any other query here.

-- name: create_companies_import
CREATE TEMP TABLE IF NOT EXISTS companies_import (LIKE public.companies_import)
    ON COMMIT DELETE ROWS;

-- name: create_contacts_import
CREATE TEMP TABLE IF NOT EXISTS contacts_import (LIKE public.contacts_import)
    ON COMMIT DELETE ROWS;

-- name: import_tables_are_temporary
SELECT coalesce(to_regclass('companies_import') = to_regclass('pg_temp.companies_import')
            AND to_regclass('contacts_import') = to_regclass('pg_temp.contacts_import'), false);

-- name: upsert_batch
-- A batch in one statement (one round trip) once its rows are COPYed into the temp tables:
-- companies, contacts and new facet values ($1..$4 columns). Rows whose values did not change
-- are left alone (no new version, no updated_at bump), so re-importing a file changes nothing;
-- empty text arrives as '' and is stored as NULL. The counts are the rows inserted or changed.
-- synchronous_commit off for this transaction only: the import's checkpoint, saved after the
-- batch in a synchronous commit, flushes the WAL up to and past this batch, so a checkpoint
-- never points past a batch a crash could lose; the batch commit skips its own WAL flush.
WITH
company AS (
    INSERT INTO companies AS c (
        uuid, name, employees_count, industries, keywords, address, annual_revenue, total_funding,
        technologies, city, state, country, linkedin_url, website, normalized_domain, facebook_url,
        twitter_url, company_name_for_emails, phone_number, latest_funding, latest_funding_amount,
        last_raised_at)
    SELECT
        uuid, NULLIF(name, ''), employees_count, industries, keywords, NULLIF(address, ''),
        annual_revenue, total_funding, technologies, NULLIF(city, ''), NULLIF(state, ''),
        NULLIF(country, ''), NULLIF(linkedin_url, ''), NULLIF(website, ''),
        NULLIF(normalized_domain, ''), NULLIF(facebook_url, ''), NULLIF(twitter_url, ''),
        NULLIF(company_name_for_emails, ''), NULLIF(phone_number, ''), NULLIF(latest_funding, ''),
        latest_funding_amount, NULLIF(last_raised_at, '')
    FROM companies_import
    ON CONFLICT (uuid) DO UPDATE SET
        name = EXCLUDED.name, employees_count = EXCLUDED.employees_count,
        industries = EXCLUDED.industries, keywords = EXCLUDED.keywords, address = EXCLUDED.address,
        annual_revenue = EXCLUDED.annual_revenue, total_funding = EXCLUDED.total_funding,
        technologies = EXCLUDED.technologies, city = EXCLUDED.city, state = EXCLUDED.state,
        country = EXCLUDED.country, linkedin_url = EXCLUDED.linkedin_url,
        website = EXCLUDED.website, normalized_domain = EXCLUDED.normalized_domain,
        facebook_url = EXCLUDED.facebook_url, twitter_url = EXCLUDED.twitter_url,
        company_name_for_emails = EXCLUDED.company_name_for_emails,
        phone_number = EXCLUDED.phone_number, latest_funding = EXCLUDED.latest_funding,
        latest_funding_amount = EXCLUDED.latest_funding_amount,
        last_raised_at = EXCLUDED.last_raised_at, updated_at = now(), deleted_at = NULL
    WHERE c.deleted_at IS NOT NULL OR (
        c.name, c.employees_count, c.industries, c.keywords, c.address, c.annual_revenue,
        c.total_funding, c.technologies, c.city, c.state, c.country, c.linkedin_url, c.website,
        c.normalized_domain, c.facebook_url, c.twitter_url, c.company_name_for_emails,
        c.phone_number, c.latest_funding, c.latest_funding_amount, c.last_raised_at
    ) IS DISTINCT FROM (
        EXCLUDED.name, EXCLUDED.employees_count, EXCLUDED.industries, EXCLUDED.keywords,
        EXCLUDED.address, EXCLUDED.annual_revenue, EXCLUDED.total_funding, EXCLUDED.technologies,
        EXCLUDED.city, EXCLUDED.state, EXCLUDED.country, EXCLUDED.linkedin_url, EXCLUDED.website,
        EXCLUDED.normalized_domain, EXCLUDED.facebook_url, EXCLUDED.twitter_url,
        EXCLUDED.company_name_for_emails, EXCLUDED.phone_number, EXCLUDED.latest_funding,
        EXCLUDED.latest_funding_amount, EXCLUDED.last_raised_at
    )
    RETURNING 1
),
contact AS (
    INSERT INTO contacts AS p (
        uuid, first_name, last_name, company_id, email, title, departments, mobile_phone,
        email_status, seniority, city, state, country, linkedin_url, facebook_url, twitter_url,
        website, work_direct_phone, home_phone, other_phone, stage)
    SELECT
        uuid, NULLIF(first_name, ''), NULLIF(last_name, ''), company_id, NULLIF(email, ''),
        NULLIF(title, ''), departments, NULLIF(mobile_phone, ''), NULLIF(email_status, ''),
        NULLIF(seniority, ''), NULLIF(city, ''), NULLIF(state, ''), NULLIF(country, ''),
        NULLIF(linkedin_url, ''), NULLIF(facebook_url, ''), NULLIF(twitter_url, ''),
        NULLIF(website, ''), NULLIF(work_direct_phone, ''), NULLIF(home_phone, ''),
        NULLIF(other_phone, ''), NULLIF(stage, '')
    FROM contacts_import
    ON CONFLICT (uuid) DO UPDATE SET
        first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
        company_id = EXCLUDED.company_id, email = EXCLUDED.email, title = EXCLUDED.title,
        departments = EXCLUDED.departments, mobile_phone = EXCLUDED.mobile_phone,
        email_status = EXCLUDED.email_status, seniority = EXCLUDED.seniority, city = EXCLUDED.city,
        state = EXCLUDED.state, country = EXCLUDED.country, linkedin_url = EXCLUDED.linkedin_url,
        facebook_url = EXCLUDED.facebook_url, twitter_url = EXCLUDED.twitter_url,
        website = EXCLUDED.website, work_direct_phone = EXCLUDED.work_direct_phone,
        home_phone = EXCLUDED.home_phone, other_phone = EXCLUDED.other_phone,
        stage = EXCLUDED.stage, updated_at = now(), deleted_at = NULL
    WHERE p.deleted_at IS NOT NULL OR (
        p.first_name, p.last_name, p.company_id, p.email, p.title, p.departments, p.mobile_phone,
        p.email_status, p.seniority, p.city, p.state, p.country, p.linkedin_url, p.facebook_url,
        p.twitter_url, p.website, p.work_direct_phone, p.home_phone, p.other_phone, p.stage
    ) IS DISTINCT FROM (
        EXCLUDED.first_name, EXCLUDED.last_name, EXCLUDED.company_id, EXCLUDED.email,
        EXCLUDED.title, EXCLUDED.departments, EXCLUDED.mobile_phone, EXCLUDED.email_status,
        EXCLUDED.seniority, EXCLUDED.city, EXCLUDED.state, EXCLUDED.country, EXCLUDED.linkedin_url,
        EXCLUDED.facebook_url, EXCLUDED.twitter_url, EXCLUDED.website, EXCLUDED.work_direct_phone,
        EXCLUDED.home_phone, EXCLUDED.other_phone, EXCLUDED.stage
    )
    RETURNING 1
),
facet AS (
    INSERT INTO filters_data (service, filter_key, display_value, value)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
    ON CONFLICT (service, filter_key, value) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM company) AS companies, (SELECT count(*) FROM contact) AS contacts,
       set_config('synchronous_commit', 'off', true) AS commit_mode;

-- name: insert_bad_rows
-- A batch redone after a crash reports its bad rows again: the first report stands.
INSERT INTO import_bad_rows (job_uuid, line, reason, raw)
SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[])
ON CONFLICT (job_uuid, line) DO NOTHING;

-- name: count_bad_rows
SELECT count(*) FROM import_bad_rows WHERE job_uuid = $1;

-- name: first_bad_rows
SELECT line, reason FROM import_bad_rows WHERE job_uuid = $1 ORDER BY line LIMIT $2;

-- name: bad_rows_page
SELECT line, reason, raw FROM import_bad_rows
WHERE job_uuid = $1 AND line > $2 ORDER BY line LIMIT $3;

-- name: delete_bad_rows
DELETE FROM import_bad_rows WHERE job_uuid = $1;
