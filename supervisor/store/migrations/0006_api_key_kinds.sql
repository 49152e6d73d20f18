-- Key kinds: a 'read_only' key sees everything and changes nothing (API and dashboard);
-- every key made before this migration keeps full rights.
ALTER TABLE api_keys
    ADD COLUMN kind text NOT NULL DEFAULT 'full' CHECK (kind IN ('full', 'read_only'));

-- The secret that signs dashboard session cookies. Kept in the database so every process
-- of a cluster accepts the same cookies and a restart logs nobody out; made here once, from
-- PostgreSQL's random uuids (gen_random_uuid is built in; pgcrypto is not assumed).
CREATE TABLE ui_secrets (
    id         integer PRIMARY KEY CHECK (id = 1),
    secret     bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO ui_secrets (id, secret)
VALUES (1, decode(replace(gen_random_uuid()::text || gen_random_uuid()::text
                          || gen_random_uuid()::text, '-', ''), 'hex'));
