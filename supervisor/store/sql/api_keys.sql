-- name: create_api_key
INSERT INTO api_keys (name, prefix, key_hash, kind)
VALUES ($1, $2, $3, $4)
RETURNING id, name, prefix, kind, created_at, last_used_at, revoked_at;

-- name: api_key_candidates
SELECT id, key_hash, kind FROM api_keys WHERE prefix = $1 AND revoked_at IS NULL;

-- name: touch_api_key
UPDATE api_keys SET last_used_at = now() WHERE id = $1;

-- name: list_api_keys
SELECT id, name, prefix, kind, created_at, last_used_at, revoked_at FROM api_keys
WHERE $1::boolean OR revoked_at IS NULL
ORDER BY id;

-- name: revoke_api_key_by_name
UPDATE api_keys SET revoked_at = now()
WHERE revoked_at IS NULL AND name = $1
RETURNING id, name, prefix, kind, created_at, last_used_at, revoked_at;

-- name: revoke_api_key_by_id
UPDATE api_keys SET revoked_at = now()
WHERE revoked_at IS NULL AND id = $1
RETURNING id, name, prefix, kind, created_at, last_used_at, revoked_at;

-- name: count_api_keys
SELECT count(*) FROM api_keys;

-- name: live_api_key
-- A dashboard session names its key by id: still live, and of which kind.
SELECT id, name, kind FROM api_keys WHERE id = $1 AND revoked_at IS NULL;

-- name: ui_secret
SELECT secret FROM ui_secrets WHERE id = 1;
