-- What insert_csv_file needs besides the tables it fills.
--
-- companies_import / contacts_import are the shapes of the per-session staging tables: each
-- import creates TEMP tables of the same names (LIKE these), COPYs a batch into them and upserts
-- from there; a temp table shadows these in its session. These stay empty: CHECK (false) makes
-- any write that missed the temp table fail loudly instead of importing nothing.

CREATE TABLE companies_import (
    uuid uuid, name text, employees_count bigint, industries text[], keywords text[],
    address text, annual_revenue bigint, total_funding bigint, technologies text[], city text,
    state text, country text, linkedin_url text, website text, normalized_domain text,
    facebook_url text, twitter_url text, company_name_for_emails text, phone_number text,
    latest_funding text, latest_funding_amount bigint, last_raised_at text,
    CONSTRAINT companies_import_template_only CHECK (false)
);

CREATE TABLE contacts_import (
    uuid uuid, first_name text, last_name text, company_id uuid, email text, title text,
    departments text[], mobile_phone text, email_status text, seniority text, city text,
    state text, country text, linkedin_url text, facebook_url text, twitter_url text,
    website text, work_direct_phone text, home_phone text, other_phone text, stage text,
    CONSTRAINT contacts_import_template_only CHECK (false)
);

-- Bad rows of running imports, written in the batch's transaction so a resumed import keeps
-- those of earlier attempts; streamed to <key>.errors.csv at the end, then deleted.
CREATE TABLE import_bad_rows (
    job_uuid uuid   NOT NULL,
    line     bigint NOT NULL,
    reason   text   NOT NULL,
    raw      text   NOT NULL,
    PRIMARY KEY (job_uuid, line)
);
