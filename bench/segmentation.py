"""Segmentation and mapping replay at scale, beside hand-written SQL doing the same changes.

One full `segmentation` job (10 conditional segments of different shapes, adds and removes) over
N profiles, and in the same run three hand-written baselines, each on its own copy of the table:
20 UPDATEs (one add and one remove per segment); one UPDATE that computes every profile's new
list from all 10 predicates and rewrites only the profiles whose list changes; and that UPDATE
split into two halves of the ids run side by side on two connections, as the job runs its saves
two at a time by default (`SEGMENTATION_PARALLEL`, on a 2-core machine); then a replay of
two mappings over M events by the `post_collection_mapping` job beside one hand-written UPDATE.
Every side's results are compared.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import time
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import asyncpg

from bench.common import row, scratch_database
from services.cdp.mapping import MappingIn
from services.cdp.mapping_store import MappingStore, PostCollectionMapping, ReplayPayload
from services.cdp.segments.jobs import Segmentation, SegmentationPayload
from services.cdp.segments.model import SegmentIn
from services.cdp.segments.resources import SegmentsResources, SegmentsSettings
from services.cdp.segments.store import SegmentStore
from services.cdp.store import CdpStore, q
from supervisor.jobtypes import JobContext
from supervisor.store.db import create_pool

NOW = datetime.now(UTC)
# (name, our condition, the hand-written SQL predicate a person would write for it)
SEGMENTS = [
    ("adult", "profile@traits.age >= 18", "(doc->'traits'->>'age')::int >= 18"),
    ("senior", "profile@traits.age BETWEEN 65 AND 90",
     "(doc->'traits'->>'age')::int BETWEEN 65 AND 90"),
    ("parisian", "profile@traits.city == \"Paris\"", "doc->'traits'->>'city' = 'Paris'"),
    ("frequent", "profile@stats.visits > 50", "(doc->'stats'->>'visits')::int > 50"),
    ("recent", "profile@metadata.time.visit.last > now.offset(\"-7d\")",
     "(doc->'metadata'->'time'->'visit'->>'last')::timestamptz > now() - interval '7 days'"),
    ("has-email", "profile@traits.email EXISTS", "doc->'traits'->>'email' IS NOT NULL"),
    ("gmail", "profile@traits.email ENDS WITH \"@gmail.com\"",
     "doc->'traits'->>'email' LIKE '%@gmail.com'"),
    ("loyal", "profile@stats.visits > 20 AND profile@traits.age > 30",
     "(doc->'stats'->>'visits')::int > 20 AND (doc->'traits'->>'age')::int > 30"),
    ("rome-or-vip", "(profile@traits.city == \"Rome\" OR profile@traits.vip == TRUE)",
     "(doc->'traits'->>'city' = 'Rome' OR (doc->'traits'->'vip') = 'true')"),
    ("promo", "profile@traits.tags CONTAINS \"promo\"", "doc->'traits'->'tags' ? 'promo'"),
]

FILL = """
INSERT INTO cdp_profiles (id, doc, insert_time, update_time)
SELECT 'p' || lpad(i::text, 8, '0'), jsonb_build_object(
    'id', 'p' || lpad(i::text, 8, '0'),
    'traits', jsonb_build_object(
        'age', i % 91, 'city', (ARRAY['Paris','Rome','Oslo','Lima','Pune'])[1 + i % 5],
        'email', CASE WHEN i % 3 = 0 THEN NULL WHEN i % 3 = 1 THEN 'u' || i || '@gmail.com'
                      ELSE 'u' || i || '@x.org' END,
        'vip', i % 17 = 0, 'tags', CASE WHEN i % 4 = 0 THEN '["promo","eu"]'::jsonb
                                        ELSE '["eu"]'::jsonb END),
    'stats', jsonb_build_object('visits', (i * 7) % 100),
    'metadata', jsonb_build_object('time', jsonb_build_object('insert', now()::text,
        'visit', jsonb_build_object('last', (now() - (i % 30) * interval '1 day')::text))),
    -- a stale start: some ids that no longer hold, so the job both adds and removes
    'segments', CASE WHEN i % 2 = 0 THEN '["adult","promo","manual"]'::jsonb
                     ELSE '["senior"]'::jsonb END),
    now(), now()
FROM generate_series(1, $1) AS i
"""


def hand_written() -> list[str]:
    """The baseline: per segment one UPDATE that adds and one that removes."""
    out = []
    stamp = "'{metadata,time,segmentation}', to_jsonb(now()::text)"
    for sid, _, pred in SEGMENTS:
        # (doc->'segments'): '-' and '||' bind tighter than '->' in PostgreSQL.
        out.append(f"UPDATE base SET doc = jsonb_set(jsonb_set(doc, '{{segments}}', "
                   f"(doc->'segments') || jsonb_build_array('{sid}'::text)), {stamp}), "
                   f"segmentation_time = now() "
                   f"WHERE COALESCE({pred}, false) AND NOT doc->'segments' ? '{sid}'")
        out.append(f"UPDATE base SET doc = jsonb_set(jsonb_set(doc, '{{segments}}', "
                   f"(doc->'segments') - '{sid}'::text), {stamp}), segmentation_time = now() "
                   f"WHERE NOT COALESCE({pred}, false) AND doc->'segments' ? '{sid}'")
    return out


def one_statement(table: str = "base1", ids_from: str = "", ids_below: str = "") -> str:
    """The strongest simple baseline: one UPDATE, each changed profile rewritten once.

    The new list is the old one without the 10 segment ids, plus the ids whose predicate holds;
    a profile is written only when that differs (as a set) from what it has. `ids_from` and
    `ids_below` bound it to a range of ids, so that halves of it can run side by side.
    """
    bounds = "".join(f" AND id {op} '{value}'" for op, value in
                     ((">=", ids_from), ("<", ids_below)) if value)
    ids = ",".join(sid for sid, _, _ in SEGMENTS)
    holds = ", ".join(f"CASE WHEN COALESCE({pred}, false) THEN '{sid}' END"
                      for sid, _, pred in SEGMENTS)
    stamp = "'{metadata,time,segmentation}', to_jsonb(now()::text)"
    return (f"UPDATE {table} b SET doc = jsonb_set(jsonb_set(b.doc, '{{segments}}', c.new), "
            f"{stamp}), segmentation_time = now() "
            f"FROM (SELECT id, ((doc->'segments') - '{{{ids}}}'::text[]) "
            f"|| to_jsonb(array_remove(ARRAY[{holds}], NULL)) AS new FROM {table} "
            f"WHERE true{bounds}) c "
            f"WHERE b.id = c.id AND NOT (c.new @> (b.doc->'segments') "
            f"AND (b.doc->'segments') @> c.new)")


def rss_mib() -> float:
    """Peak resident set size of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def fill_profiles(pool: asyncpg.Pool, n: int,
                        copies: tuple[str, ...] = ("base", "base1", "base2")) -> float:
    """N profiles, and `base`, `base1`, `base2`: the baselines' copies of them; seconds taken."""
    t = time.perf_counter()
    await pool.execute(FILL, n)
    for copy in copies:
        for sql in (f"CREATE TABLE {copy} AS SELECT * FROM cdp_profiles",
                    f"ALTER TABLE {copy} ADD PRIMARY KEY (id)", f"VACUUM ANALYZE {copy}"):
            await pool.execute(sql)
    await pool.execute("VACUUM ANALYZE cdp_profiles")
    return time.perf_counter() - t


SEGMENTS_DIFFER = """
SELECT count(*) FROM cdp_profiles p JOIN {other} b USING (id) WHERE
    (SELECT array_agg(x ORDER BY x) FROM jsonb_array_elements_text(p.doc->'segments') x)
    IS DISTINCT FROM
    (SELECT array_agg(x ORDER BY x) FROM jsonb_array_elements_text(b.doc->'segments') x)
"""


async def baselines(pool: asyncpg.Pool) -> tuple[float, float, float]:
    """Seconds of the 20 UPDATEs on `base`, the one UPDATE on `base1`, its halves on `base2`."""
    t = time.perf_counter()
    async with pool.acquire() as conn:
        for sql in hand_written():
            await conn.execute(sql)
    twenty = time.perf_counter() - t
    t = time.perf_counter()
    await pool.execute(one_statement())
    one = time.perf_counter() - t
    middle = await pool.fetchval("SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY id) "
                                 "FROM base2")
    t = time.perf_counter()
    await asyncio.gather(pool.execute(one_statement("base2", ids_below=middle)),
                         pool.execute(one_statement("base2", ids_from=middle)))
    return twenty, one, time.perf_counter() - t


async def segmentation(pool: asyncpg.Pool, n: int) -> list[str]:
    """Fill, copy, run both sides, compare; the result lines."""
    fill = await fill_profiles(pool, n)
    store = SegmentStore(pool)
    for name, cond, _ in SEGMENTS:
        await store.save(SegmentIn(name=name, condition=cond))
    res = SegmentsResources(pool, SegmentsSettings.model_validate({}), CdpStore(pool))
    rss0 = rss_mib()
    t = time.perf_counter()
    out = await Segmentation().run(JobContext(uuid4(), "segmentation", 1, res, db=pool),
                                   SegmentationPayload())
    ours = time.perf_counter() - t
    rss1 = rss_mib()
    base, one, halves = await baselines(pool)
    # Steady state: 1 % of the profiles change their traits, then all sides run again.
    for table in ("cdp_profiles", "base", "base1", "base2"):
        await pool.execute(f"UPDATE {table} SET doc = jsonb_set(doc, '{{traits,age}}', "
                           f"to_jsonb(((doc->'traits'->>'age')::int + 40) % 91)) "
                           f"WHERE substr(id, 2)::int % 100 = 0")
    t = time.perf_counter()
    again = await Segmentation().run(JobContext(uuid4(), "segmentation", 1, res, db=pool),
                                     SegmentationPayload())
    ours2 = time.perf_counter() - t
    base2, one2, halves2 = await baselines(pool)
    differ = [await pool.fetchval(SEGMENTS_DIFFER.format(other=other))
              for other in ("base", "base1", "base2")]
    return [
        f"profiles: {n:,} (filled in {fill:.1f} s); changes: {out['added']:,} added, "
        f"{out['removed']:,} removed on {out['profiles']:,} profiles",
        row("", "supervisor", "hand-written SQL"),
        row("full job, beside 20 UPDATEs", f"{ours:.2f} s", f"{base:.2f} s",
            f"ratio {ours / base:.2f}x (targets <= 10 s, <= 2x)"),
        row("full job, beside one UPDATE", f"{ours:.2f} s", f"{one:.2f} s",
            f"ratio {ours / one:.2f}x (<= 2x)"),
        row("full job, beside its halves side by side", f"{ours:.2f} s", f"{halves:.2f} s",
            f"ratio {ours / halves:.2f}x (<= 2x)"),
        row("after 1 % changed, beside 20 UPDATEs", f"{ours2:.2f} s", f"{base2:.2f} s",
            f"ratio {ours2 / base2:.2f}x; {again['profiles']:,} profiles changed"),
        row("after 1 % changed, beside one UPDATE", f"{ours2:.2f} s", f"{one2:.2f} s",
            f"ratio {ours2 / one2:.2f}x"),
        row("after 1 % changed, beside the halves", f"{ours2:.2f} s", f"{halves2:.2f} s",
            f"ratio {ours2 / halves2:.2f}x"),
        row("peak RSS before / after the job", f"{rss0:.0f} / {rss1:.0f} MiB"),
        row("profiles whose segments differ", " / ".join(map(str, differ)), "",
            "(20 UPDATEs / one UPDATE / halves; must be 0)"),
    ]


EVENTS_FILL = """
INSERT INTO cdp_events (id, insert_time, type, profile_id, doc)
SELECT 'e' || i, $2::timestamptz + (i % 86400) * interval '1 second', 'purchase',
       'p' || lpad((1 + i % $3::int)::text, 8, '0'),
       jsonb_build_object('id', 'e' || i, 'type', 'purchase', 'properties', jsonb_build_object(
           'email', CASE WHEN i % 5 = 0 THEN '' ELSE 'm' || i || '@x.org' END,
           'sku', 'S' || (i % 7)))
FROM generate_series(1, $1) AS i
"""

MAPPING_SQL = """
WITH agg AS (
    SELECT profile_id,
           (array_agg(doc->'properties'->'email' ORDER BY insert_time DESC, id DESC)
               FILTER (WHERE doc->'properties'->>'email' <> ''))[1] AS email,
           jsonb_agg(DISTINCT doc->'properties'->'sku') AS skus
    FROM cdp_events WHERE type = 'purchase' AND insert_time >= $1 AND insert_time < $2
    GROUP BY profile_id
)
UPDATE base b SET doc = jsonb_set(
    CASE WHEN agg.email IS NULL THEN b.doc
         ELSE jsonb_set(b.doc, '{pii}', COALESCE(b.doc->'pii', '{}') || jsonb_build_object(
             'email', agg.email)) END,
    '{aux}', COALESCE(b.doc->'aux', '{}') || jsonb_build_object('skus', agg.skus))
FROM agg WHERE b.id = agg.profile_id
"""

# Each profile's pii.email and aux.skus as a sorted set (a scalar counts as a set of one).
_EMAIL_SKUS = """
SELECT id, doc->'pii'->'email' AS email,
       (SELECT array_agg(DISTINCT x ORDER BY x) FROM jsonb_array_elements(
            CASE WHEN jsonb_typeof(doc->'aux'->'skus') = 'array' THEN doc->'aux'->'skus'
                 ELSE jsonb_build_array(doc->'aux'->'skus') END) AS x
        WHERE x <> 'null'::jsonb) AS skus
FROM {table}
"""
# Profiles where ours (cdp_profiles) and the hand-written side (base) disagree on either.
REPLAY_DIFFER = f"""
WITH ours AS ({_EMAIL_SKUS.format(table="cdp_profiles")}),
     theirs AS ({_EMAIL_SKUS.format(table="base")})
SELECT count(*) FROM ours FULL JOIN theirs USING (id)
WHERE ours.email IS DISTINCT FROM theirs.email OR ours.skus IS DISTINCT FROM theirs.skus
"""


async def replay(pool: asyncpg.Pool, events: int, profiles: int, engine: str = "auto",
                 workers: int = 2) -> list[str]:
    """Replay two mappings over `events` events of `profiles` profiles, beside one UPDATE."""
    day = datetime(2026, 1, 10, tzinfo=UTC)
    await pool.execute(q("cdp_ensure_partition"), day)
    await pool.execute(EVENTS_FILL, events, day, profiles)
    await pool.execute("VACUUM ANALYZE cdp_events")
    await MappingStore(pool).save(MappingIn.model_validate({
        "name": "buyer", "event_type": "purchase", "event_to_profile": [
            {"event": {"value": "properties.email"}, "op": 0, "profile": {"value": "pii.email"}},
            {"event": {"value": "properties.sku"}, "op": 2, "profile": {"value": "aux.skus"}}]}))
    res = SegmentsResources(pool, SegmentsSettings.model_validate({}), CdpStore(pool))
    payload = ReplayPayload.model_validate({"from": day.isoformat(), "engine": engine,
                                            "page_workers": workers,
                                            "to": (day + timedelta(days=1)).isoformat()})
    rss0 = rss_mib()
    t = time.perf_counter()
    out = await PostCollectionMapping().run(JobContext(
        uuid4(), "post_collection_mapping", 1, res, db=pool), payload)
    ours = time.perf_counter() - t
    t = time.perf_counter()
    await pool.execute(MAPPING_SQL, day, day + timedelta(days=1))
    base = time.perf_counter() - t
    differ = await pool.fetchval(REPLAY_DIFFER)
    return [
        f"events: {events:,} over {profiles:,} profiles; engine {out['engine']}, "
        f"{out['events']:,} events of {out['profiles']:,} profiles mapped",
        row("mapping replay (2 rules)", f"{ours:.2f} s", f"{base:.2f} s",
            f"ratio {ours / base:.2f}x; {events / ours:,.0f} events/s"),
        row("peak RSS before / after the replay", f"{rss0:.0f} / {rss_mib():.0f} MiB"),
        row("profiles whose email or skus differ", f"{differ}", "", "(must be 0)"),
    ]


async def main(profiles: int, events: int, only: str | None, engine: str, workers: int
               ) -> None:
    """Both measures (or the `only` one) in one scratch database."""
    # One warning per empty source value is the product's behaviour; here it is only noise.
    logging.getLogger("services.cdp.mapping").setLevel(logging.ERROR)
    owners = min(profiles, max(events // 10, 1))
    async with scratch_database("bench_segments") as dsn:
        pool = await create_pool(dsn, min_size=1, max_size=4)
        try:
            if only != "replay":
                for line in await segmentation(pool, profiles):
                    print(line)
            else:  # the replay alone: only the profiles its events belong to
                filled = await fill_profiles(pool, owners, ("base",))
                print(f"profiles: {owners:,} (filled in {filled:.1f} s)")
            if events and only != "segmentation":
                for line in await replay(pool, events, owners, engine, workers):
                    print(line)
        finally:
            await pool.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--only", choices=("segmentation", "replay"),
                        help="run one part (replay: with only the profiles its events have)")
    parser.add_argument("--engine", choices=("auto", "python"), default="auto",
                        help="the replay job's engine (python: never the SQL one)")
    parser.add_argument("--page-workers", type=int, default=2,
                        help="the replay job's SQL pages at once (its page_workers)")
    args = parser.parse_args()
    asyncio.run(main(args.profiles, args.events, args.only, args.engine, args.page_workers))
