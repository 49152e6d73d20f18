"""Heartbeat and ingestion figures, each beside its bare-SQL baseline from the same run.

    .venv/bin/python -m bench.heartbeat [--events 1000000 --sessions 100000 --profiles 30000]

1. A month of history (events over sessions and profiles, generated in SQL); one
   `inactive-session` and one `visit-end` pass over `now-1M|now` (the first emits, a second
   emits nothing), each timed beside the bare `GROUP BY session_id` query that finds the same
   candidates; peak RSS of this process around each pass.
2. Ingestion: POST /track from 50 clients (10 events a payload) against the real api service,
   `cdp load` of an NDJSON file (in process, the CLI's code path), and a bare multi-row INSERT
   of the same events.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench.api import free_port, start_server, wait_ready
from bench.common import scratch_database
from services.cdp.heartbeat.params import HeartbeatParams
from services.cdp.heartbeat.pg import run_pg
from services.cdp.loader import LoadReport, load
from services.cdp.model import INTERNAL_SOURCE_ID, Event
from services.cdp.store import CdpStore
from supervisor.store.api_keys import ApiKeyStore
from supervisor.store.db import create_pool

GENERATE = """
INSERT INTO cdp_events (id, insert_time, type, status, source_id, session_id, profile_id, doc)
SELECT e.id, e.t, e.type, 'collected', e.src, e.sid, e.pid,
       cdp_event_doc(e.id, e.type, e.t, e.src, e.sid, e.pid, jsonb_build_object('n', e.j), '{}')
FROM (
    SELECT 'e' || s || '-' || j AS id,
           $1::timestamptz + (s::float8 / $3) * interval '29 days' + j * interval '1 minute' AS t,
           CASE WHEN j = 0 THEN 'visit-started' ELSE 'page-view' END AS type,
           CASE WHEN j = 0 THEN $5 ELSE 'web' END AS src,
           's' || s AS sid, 'p' || (s % $4) AS pid, j
    FROM generate_series(0, $3 - 1) AS s, generate_series(0, $2 - 1) AS j
) e
"""
SESSIONS = """
INSERT INTO cdp_sessions (id, profile_id, doc, status, insert_time, update_time)
SELECT 's' || s, 'p' || (s % $3), jsonb_build_object('id', 's' || s), 'active', t, t
FROM generate_series(0, $2 - 1) AS s,
     LATERAL (SELECT $1::timestamptz + (s::float8 / $2) * interval '29 days' AS t) x
"""
PROFILES = """
INSERT INTO cdp_profiles (id, doc, insert_time, update_time)
SELECT 'p' || p, jsonb_build_object('id', 'p' || p), $1, $1 FROM generate_series(0, $2 - 1) p
"""
BARE_SESSIONS = """
SELECT session_id, max(insert_time) FILTER (WHERE activity) AS last_activity
FROM cdp_events WHERE insert_time >= $1 AND insert_time <= $2
GROUP BY session_id HAVING max(insert_time) FILTER (WHERE activity) < $3
"""
# The least an emitting pass must do: find the candidates and write one event each, in one
# statement, no paging, no marks (run in a transaction that is rolled back).
BARE_EMIT = f"""
INSERT INTO cdp_events (id, insert_time, type, status, source_id, session_id, profile_id, doc)
SELECT c.id, $4, 'bare-flag', 'collected', '@heartbeats-bench', c.session_id, NULL,
       cdp_event_doc(c.id, 'bare-flag', $4, '@heartbeats-bench', c.session_id, NULL, '{{}}',
                     '{{}}')
FROM (SELECT gen_random_uuid()::text AS id, b.session_id FROM ({BARE_SESSIONS}) b) c
"""
# visit-end also ends each candidate's session: the same INSERT plus that UPDATE, one statement.
BARE_EMIT_END = f"""
WITH c AS MATERIALIZED (
    SELECT gen_random_uuid()::text AS id, b.session_id FROM ({BARE_SESSIONS}) b
), ins AS (
    INSERT INTO cdp_events (id, insert_time, type, status, source_id, session_id, profile_id, doc)
    SELECT c.id, $4, 'bare-flag', 'collected', '@heartbeats-bench', c.session_id, NULL,
           cdp_event_doc(c.id, 'bare-flag', $4, '@heartbeats-bench', c.session_id, NULL, '{{}}',
                         '{{}}')
    FROM c RETURNING 1
)
UPDATE cdp_sessions s SET status = 'ended', doc = jsonb_set(s.doc, '{{metadata,status}}', '"ended"')
FROM c WHERE s.id = c.session_id
"""
COLUMNS = "id, insert_time, type, status, source_id, session_id, profile_id, doc"


def rss_mb() -> float:
    """Peak resident set of this process so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def generate(dsn: str, store: CdpStore, now: datetime, events: int,
                   sessions: int, profiles: int) -> float:
    """The month of history; returns seconds taken."""
    start = now - timedelta(days=30)
    await store.ensure_partitions([start, start + timedelta(days=15), now])
    t0 = time.perf_counter()
    conn = await asyncpg.connect(dsn)  # no command timeout: a busy machine may take minutes
    try:
        await conn.execute(GENERATE, start, max(1, events // sessions), sessions, profiles,
                           INTERNAL_SOURCE_ID)
        await conn.execute(SESSIONS, start, sessions, profiles)
        await conn.execute(PROFILES, start, profiles)
        await conn.execute("VACUUM ANALYZE cdp_events")
        await conn.execute("ANALYZE cdp_sessions")
        await conn.execute("ANALYZE cdp_profiles")
    finally:
        await conn.close()
    return time.perf_counter() - t0


async def bare_query(pool: asyncpg.Pool, now: datetime) -> tuple[float, int]:
    """The bare GROUP BY that finds the sessions quiet for 15 minutes."""
    lo = now - timedelta(days=30)
    t0 = time.perf_counter()
    async with pool.acquire() as conn:
        rows = await conn.fetch(BARE_SESSIONS, lo, now, now - timedelta(seconds=900))
    return time.perf_counter() - t0, len(rows)


async def bare_emit(pool: asyncpg.Pool, now: datetime, sql: str = BARE_EMIT) -> float:
    """The bare query plus one INSERT of an event per candidate (and for visit-end the session
    UPDATE), rolled back."""
    lo = now - timedelta(days=30)
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        t0 = time.perf_counter()
        await conn.execute(sql, lo, now, now - timedelta(seconds=900), now)
        took = time.perf_counter() - t0
        await tx.rollback()
    return took


async def one_pass(store: CdpStore, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Time one heartbeat pass and the RSS around it."""
    params = HeartbeatParams.model_validate({**data, "page_size": 1000})
    before = rss_mb()
    t0 = time.perf_counter()
    result = await run_pg(store, params, now)
    return {"seconds": time.perf_counter() - t0, "examined": result.examined,
            "emitted": result.emitted, "rss_before": before, "rss_after": rss_mb()}


async def heartbeat_part(args: argparse.Namespace) -> None:
    """Part 1: the two passes beside the bare query."""
    now = datetime.now(UTC)
    async with scratch_database("bench_hb") as dsn:
        pool = await create_pool(dsn, min_size=1, max_size=4)
        store = CdpStore(pool)
        took = await generate(dsn, store, now, args.events, args.sessions, args.profiles)
        print(f"generated {args.events:,} events over {args.sessions:,} sessions and "
              f"{args.profiles:,} profiles in {took:.1f} s")
        modes = {
            "inactive-session": {"qualify_by": "inactive-session", "range": "now-1M|now",
                                 "skip_seconds": 900, "event_type": "session-inactive"},
            "visit-end": {"qualify_by": "visit-end", "range": "now-1M|now", "skip_seconds": 900},
        }
        print(f"{'pass':<36}{'ours s':>8}{'bare s':>8}{'ratio':>7}{'bare+ins s':>11}"
              f"{'ratio':>7}{'examined':>10}{'emitted':>9}{'RSS MB':>8}")
        for name, data in modes.items():
            for label in ("first (emits)", "again (idempotent)"):
                bare, found = await bare_query(pool, now)
                emit = await bare_emit(pool, now,
                                       BARE_EMIT_END if name == "visit-end" else BARE_EMIT)
                ours = await one_pass(store, data, now)
                print(f"{name + ' ' + label:<36}{ours['seconds']:>8.2f}{bare:>8.2f}"
                      f"{ours['seconds'] / bare:>7.2f}{emit:>11.2f}{ours['seconds'] / emit:>7.2f}"
                      f"{ours['examined']:>10,}{ours['emitted']:>9,}{ours['rss_after']:>8.0f}")
        print(f"bare = the GROUP BY session_id query alone ({found:,} candidates); bare+ins = it "
              "plus one INSERT of an event per candidate (visit-end: and the UPDATE ending its "
              "session), one statement. Target: each pass <= 2x bare; RSS flat.")
        await pool.close()


def payloads(clients: int, per_client: int, batch: int) -> list[list[dict[str, Any]]]:
    """Tracker payloads per client, `batch` events each, a few payloads per session."""
    out = []
    for c in range(clients):
        mine = []
        for n in range(per_client):
            mine.append({"source": {"id": "web"}, "session": {"id": f"c{c}-s{n // 5}"},
                         "profile": {"id": f"c{c}-p{n // 20}"},
                         "events": [{"type": "page-view", "properties": {"i": i}}
                                    for i in range(batch)]})
        out.append(mine)
    return out


async def raw_posts(port: int, key: str, work: list[list[bytes]]) -> float:
    """Seconds to send every body, one keep-alive connection per client (a minimal client, so
    the figure is the server's, not httpx's)."""

    async def one(bodies: list[bytes]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for body in bodies:
            writer.write((f"POST /track HTTP/1.1\r\nHost: bench\r\nX-API-Key: {key}\r\n"
                          "Content-Type: application/json\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"/track answered {head[:40]!r}")
        writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(one(bodies) for bodies in work))
    return time.perf_counter() - t0


async def track_rate(dsn: str, events: int, clients: int, batch: int = 10) -> float:
    """Events/s through POST /track of the real api service."""
    pool = await create_pool(dsn, min_size=1, max_size=2)
    key, _ = await ApiKeyStore(pool).create("bench")
    await pool.close()
    port = free_port()
    proc = start_server(dsn, port)
    try:
        await wait_ready(f"http://127.0.0.1:{port}", proc)
        work = [[json.dumps(p).encode() for p in mine]
                for mine in payloads(clients, max(1, events // (clients * batch)), batch)]
        took = await raw_posts(port, key, work)
        return sum(len(m) for m in work) * batch / took
    finally:
        proc.terminate()
        proc.wait(30)


async def bare_payload_inserts(dsn: str, events: int, clients: int, batch: int = 10) -> float:
    """Events/s of one 10-row INSERT per transaction from `clients` tasks on the daemon's
    job-pool size: what PostgreSQL alone gives for the same commits."""
    pool = await create_pool(dsn, min_size=6, max_size=6)
    store = CdpStore(pool)
    now = datetime.now(UTC)
    await store.ensure_partitions([now])
    per = max(1, events // (clients * batch))

    async def one(c: int) -> None:
        for n in range(per):
            evs = [Event(f"b{c}-{n}-{i}", "page-view", now, "web", f"c{c}-s{n // 5}",
                         f"c{c}-p{n // 20}", {"i": i}) for i in range(batch)]
            async with pool.acquire() as conn:
                await store.insert_events(conn, evs)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(c) for c in range(clients)))
    took = time.perf_counter() - t0
    await pool.close()
    return clients * per * batch / took


def history_file(folder: Path, events: int) -> Path:
    """An NDJSON file of event documents over a week."""
    path = folder / "history.ndjson"
    start = datetime.now(UTC) - timedelta(days=7)
    with path.open("w") as fh:
        for i in range(events):
            at = start + timedelta(seconds=i * 5)
            fh.write(json.dumps({
                "id": f"h{i}", "type": "page-view",
                "metadata": {"time": {"insert": at.isoformat()}},
                "session": {"id": f"s{i // 10}"}, "profile": {"id": f"p{i // 30}"},
                "source": {"id": "import"}, "properties": {"i": i}}) + "\n")
    return path


async def bare_insert(pool: asyncpg.Pool, store: CdpStore, path: Path) -> float:
    """Events/s of a bare multi-row INSERT (1000 rows a statement) of the same documents."""
    from services.cdp.loader import parse_lines

    events = list(parse_lines(path.open(), LoadReport()))
    await store.ensure_partitions(e.insert_time for e in events)
    rows = [(e.id, e.insert_time, e.type, e.status, e.source_id, e.session_id, e.profile_id,
             json.dumps(e.document())) for e in events]
    t0 = time.perf_counter()
    async with pool.acquire() as conn:
        for i in range(0, len(rows), 1000):
            chunk = rows[i:i + 1000]
            values = ", ".join(
                f"(${k * 8 + 1}, ${k * 8 + 2}, ${k * 8 + 3}, ${k * 8 + 4}, ${k * 8 + 5}, "
                f"${k * 8 + 6}, ${k * 8 + 7}, ${k * 8 + 8}::jsonb)" for k in range(len(chunk)))
            await conn.execute(f"INSERT INTO cdp_events ({COLUMNS}) VALUES {values}",
                               *[v for row in chunk for v in row])
    return len(rows) / (time.perf_counter() - t0)


async def ingestion_part(args: argparse.Namespace) -> None:
    """Part 2: /track, cdp load and the bare INSERT."""
    async with scratch_database("bench_track") as dsn:
        track = await track_rate(dsn, args.track_events, args.clients)
        bare_track = await bare_payload_inserts(dsn, args.track_events, args.clients)
    with tempfile.TemporaryDirectory() as tmp:
        path = history_file(Path(tmp), args.load_events)
        async with scratch_database("bench_load") as dsn:
            pool = await create_pool(dsn, min_size=1, max_size=4)
            store = CdpStore(pool)
            await store.ensure_partitions([datetime.now(UTC) - timedelta(days=8),
                                           datetime.now(UTC)])
            t0 = time.perf_counter()
            report = await load(store, path.open(), LoadReport())
            loaded = report.stored / (time.perf_counter() - t0)
            async with pool.acquire() as conn:
                await conn.execute("TRUNCATE cdp_events, cdp_sessions, cdp_profiles")
            bare = await bare_insert(pool, store, path)
            await pool.close()
    print(f"POST /track, {args.clients} clients, 10 events a payload: {track:,.0f} events/s "
          f"(target >= 2,000); bare 10-row INSERT per transaction: {bare_track:,.0f} events/s; "
          f"ratio {track / bare_track:.2f}")
    print(f"cdp load: {loaded:,.0f} events/s; bare multi-row INSERT: {bare:,.0f} events/s; "
          f"ratio {loaded / bare:.2f} (target >= 0.5)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--profiles", type=int, default=30_000)
    parser.add_argument("--track-events", type=int, default=20_000)
    parser.add_argument("--load-events", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--only", choices=("heartbeat", "ingestion"), default=None)
    args = parser.parse_args()
    if args.only != "ingestion":
        asyncio.run(heartbeat_part(args))
    if args.only != "heartbeat":
        asyncio.run(ingestion_part(args))


if __name__ == "__main__":
    main()
