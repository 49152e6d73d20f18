-- mapping: SQL helpers of the set-based mapping replay (services/cdp/mapping_sql.py). Their rules
-- are apply_rule's in services/cdp/mapping.py; the agreement tests run both on the same data.

-- Whether an event value is worth mapping: not missing (SQL NULL), null, "", [] or {}.
CREATE OR REPLACE FUNCTION cdp_map_filled(v jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT v NOT IN ('null'::jsonb, '""'::jsonb, '[]'::jsonb, '{}'::jsonb)
$$;

-- `doc` with `value` at `path`, creating missing intermediate objects (Python's setdefault);
-- unchanged when `value` is NULL or the path runs through a value that is not an object (a JSON
-- null included). The loop finds the first missing key; the rest of the path is built around
-- `value`, and one jsonb_set puts it in the object that is there.
CREATE OR REPLACE FUNCTION cdp_map_set(doc jsonb, path text[], value jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    depth int := 1;
    node jsonb := doc;
BEGIN
    IF value IS NULL THEN
        RETURN doc;
    END IF;
    WHILE depth < cardinality(path) LOOP
        node := node -> path[depth];
        EXIT WHEN node IS NULL;
        IF jsonb_typeof(node) <> 'object' THEN
            RETURN doc;
        END IF;
        depth := depth + 1;
    END LOOP;
    FOR i IN REVERSE cardinality(path) .. depth + 1 LOOP
        value := jsonb_build_object(path[i], value);
    END LOOP;
    RETURN jsonb_set(doc, path[1:depth], value);
END
$$;

-- The append operation folded over a profile's values in event order (`vals`, a JSON array of
-- scalars and lists, NULL when there were none): `current` as a list (a scalar wrapped, missing
-- or null empty), then each value or list item it lacks, once, in order of first appearance.
-- "Lacks" is jsonb equality (numbers by value, never a boolean with a number), as json_equal.
CREATE OR REPLACE FUNCTION cdp_map_append(current jsonb, vals jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH base AS (
        SELECT CASE WHEN jsonb_typeof(current) = 'array' THEN current
                    WHEN current IS NULL OR current = 'null'::jsonb THEN '[]'::jsonb
                    ELSE jsonb_build_array(current) END AS list
    ), items AS (
        SELECT DISTINCT ON (x) x, i, j
        FROM jsonb_array_elements(vals) WITH ORDINALITY AS a(v, i),
             jsonb_array_elements(CASE WHEN jsonb_typeof(v) = 'array' THEN v
                                       ELSE jsonb_build_array(v) END) WITH ORDINALITY AS b(x, j)
        ORDER BY x, i, j
    )
    SELECT CASE WHEN vals IS NULL THEN NULL ELSE base.list || COALESCE(
        (SELECT jsonb_agg(x ORDER BY i, j) FROM items
         WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(base.list) AS o(e) WHERE o.e = x)),
        '[]'::jsonb) END
    FROM base
$$;
