-- The client's own statements, run on an application's connection (asyncpg, psycopg or
-- SQLAlchemy): parameters as `$n` with CAST(... AS type), jobs returned as JSON text so every
-- driver sees the same values. Cancel and retry reuse the runtime's queries of
-- supervisor/store/sql/jobs.sql, so the rules live in one place.

-- name: client_get
SELECT row_to_json(j)::text AS job FROM jobs j WHERE j.uuid = CAST($1 AS uuid);
