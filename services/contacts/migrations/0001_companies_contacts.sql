-- Companies, their contacts, and the distinct filter values the imports have seen.
-- Identity is the deterministic uuid (UUIDv5 of the documented strings), so re-importing a file
-- upserts the same rows. Indexes: what the import's upsert needs (uuid) and what VQL's export
-- needs (uuid order, contacts of a company); filter indexes belong to the queries that read them.

CREATE TABLE companies (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid                    uuid        NOT NULL UNIQUE,
    name                    text,
    employees_count         bigint      NOT NULL DEFAULT 0,
    industries              text[]      NOT NULL DEFAULT '{}',
    keywords                text[]      NOT NULL DEFAULT '{}',
    address                 text,
    annual_revenue          bigint      NOT NULL DEFAULT 0,
    total_funding           bigint      NOT NULL DEFAULT 0,
    technologies            text[]      NOT NULL DEFAULT '{}',
    city                    text,
    state                   text,
    country                 text,
    linkedin_url            text,
    website                 text,
    normalized_domain       text,
    facebook_url            text,
    twitter_url             text,
    company_name_for_emails text,
    phone_number            text,
    latest_funding          text,
    latest_funding_amount   bigint      NOT NULL DEFAULT 0,
    last_raised_at          text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz
);

CREATE TABLE contacts (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid              uuid        NOT NULL UNIQUE,
    first_name        text,
    last_name         text,
    -- the company's uuid (not its id), as the seed has it; no foreign key: a contact may arrive
    -- before its company in another job, and the check would slow every batch for no reader
    company_id        uuid,
    email             text,
    title             text,
    departments       text[]      NOT NULL DEFAULT '{}',
    mobile_phone      text,
    email_status      text,
    seniority         text,
    city              text,
    state             text,
    country           text,
    linkedin_url      text,
    facebook_url      text,
    twitter_url       text,
    website           text,
    work_direct_phone text,
    home_phone        text,
    other_phone       text,
    stage             text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    deleted_at        timestamptz
);

-- VQL's company_config.populate and "contacts of this company" look contacts up by company.
CREATE INDEX contacts_company_id_idx ON contacts (company_id);

-- Distinct values per filterable field, for a UI's facets. `service` is 'company' or 'contact';
-- `value` is what a filter matches (the cleaned value), `display_value` how it first appeared.
CREATE TABLE filters_data (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service       text        NOT NULL CHECK (service IN ('company', 'contact')),
    filter_key    text        NOT NULL,
    display_value text        NOT NULL,
    value         text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    UNIQUE (service, filter_key, value)
);
