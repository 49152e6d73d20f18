-- API keys for the HTTP API. Only a SHA-256 of each key is kept: keys are random 32-byte
-- tokens, so a fast hash is enough (no dictionary to guess from) and lookups stay cheap.

CREATE TABLE api_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text        NOT NULL CHECK (name <> ''),
    -- the first characters of the key, shown in listings so a person can tell keys apart
    prefix       text        NOT NULL,
    key_hash     bytea       NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

-- A name means one live key; a revoked key's name may be reused.
CREATE UNIQUE INDEX api_keys_live_name_idx ON api_keys (name) WHERE revoked_at IS NULL;
CREATE INDEX api_keys_prefix_idx ON api_keys (prefix) WHERE revoked_at IS NULL;
