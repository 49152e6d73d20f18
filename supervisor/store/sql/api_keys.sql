-- name: create_api_key
INSERT INTO api_keys (name, prefix, key_hash)
VALUES ($1, $2, $3)
RETURNING id, name, prefix, created_at, last_used_at, revoked_at;

-- name: api_key_candidates
SELECT id, key_hash FROM api_keys WHERE prefix = $1 AND revoked_at IS NULL;

-- name: touch_api_key
UPDATE api_keys SET last_used_at = now() WHERE id = $1;

-- name: list_api_keys
SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_keys
WHERE $1::boolean OR revoked_at IS NULL
ORDER BY id;

-- name: revoke_api_key_by_name
UPDATE api_keys SET revoked_at = now()
WHERE revoked_at IS NULL AND name = $1
RETURNING id, name, prefix, created_at, last_used_at, revoked_at;

-- name: revoke_api_key_by_id
UPDATE api_keys SET revoked_at = now()
WHERE revoked_at IS NULL AND id = $1
RETURNING id, name, prefix, created_at, last_used_at, revoked_at;

-- name: count_api_keys
SELECT count(*) FROM api_keys;
