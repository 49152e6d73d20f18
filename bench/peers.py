"""The peers of `bench/throughput.py --peers`: PgQueuer, the strongest bare asyncpg loop, and a
bare LISTEN/NOTIFY consumer, each on a scratch database of the same server.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import asyncpg

from bench.common import scratch_database

BATCH = 100


async def pgqueuer_drain(jobs: int, batch: int = BATCH) -> float:
    """PgQueuer 1.6 in one process draining `jobs` no-op jobs at `batch`; jobs/s.

    Its durable (logged) tables like ours, drain mode, the batch size as its only tuning: more
    batch raised its rate up to about 100 here, and other options only slowed it down.
    """
    from pgqueuer.qm import QueueManager
    from pgqueuer.queries import Queries
    from pgqueuer.types import QueueExecutionMode

    async with scratch_database("peer_pgq") as db:
        conn = await asyncpg.connect(db)
        queries = Queries.from_asyncpg_connection(conn)
        await queries.install()
        for offset in range(0, jobs, 1000):
            n = min(1000, jobs - offset)
            await queries.enqueue(["noop"] * n, [None] * n, [0] * n)
        qm = QueueManager(queries)
        done = 0

        @qm.entrypoint("noop")
        async def noop(job: object) -> None:
            nonlocal done
            done += 1

        start = time.perf_counter()
        await qm.run(batch_size=batch, mode=QueueExecutionMode.drain,
                     dequeue_timeout=timedelta(seconds=1))
        rate = done / (time.perf_counter() - start)
        await conn.close()
    assert done == jobs, f"PgQueuer ran {done} of {jobs}"
    return rate


async def strong_bare_loop(jobs: int, connections: int = 4, batch: int = BATCH) -> float:
    """`connections` loops in parallel, each claiming `batch` with SKIP LOCKED and completing
    them in one statement, on a scratch table with a partial index; rows/s."""
    async with scratch_database("peer_bare") as db:
        setup = await asyncpg.connect(db)
        await setup.execute("CREATE TABLE q (id bigserial PRIMARY KEY, status text NOT NULL)")
        await setup.execute("CREATE INDEX q_open ON q (id) WHERE status = 'open'")
        await setup.execute("INSERT INTO q (status) SELECT 'open' FROM generate_series(1, $1)",
                            jobs)
        await setup.execute("VACUUM ANALYZE q")
        conns = [await asyncpg.connect(db) for _ in range(connections)]

        async def loop(conn: asyncpg.Connection) -> int:
            claim = await conn.prepare(
                "UPDATE q SET status = 'running' WHERE id IN (SELECT id FROM q WHERE status = "
                f"'open' ORDER BY id LIMIT {batch} FOR UPDATE SKIP LOCKED) RETURNING id")
            finish = await conn.prepare(
                "UPDATE q SET status = 'done' WHERE id = ANY($1::bigint[])")
            n = 0
            while ids := [r["id"] for r in await claim.fetch()]:
                await finish.fetch(ids)
                n += len(ids)
            return n

        start = time.perf_counter()
        counts = await asyncio.gather(*(loop(c) for c in conns))
        rate = sum(counts) / (time.perf_counter() - start)
        for c in (setup, *conns):
            await c.close()
    assert sum(counts) == jobs
    return rate


async def schema_ceiling(jobs: int, loops: int = 4, batch: int = BATCH) -> float:
    """Our own claim and finish statements on our jobs table, driven like strong_bare_loop: no
    daemon, no queue, no workers; rows/s. What the strongest simple loop gets out of our schema.

    Each loop claims `batch` (claim_open, as the daemon's claim pool: asynchronous commit) and
    finishes them in one finish_jobs (durable, as the status writer), on a connection of each,
    with the settings of the daemon's lane pools (supervisor.store.db.lane_pools).
    """
    from supervisor.store.db import KEYED_ONLY, create_pool
    from supervisor.store.jobs import Finish, JobStore, finish_columns
    from supervisor.store.sql import q

    async with scratch_database("peer_schema") as db:
        claims = await create_pool(db, min_size=loops, max_size=loops, durable=False,
                                   reset_session=False,
                                   server_settings={"plan_cache_mode": "force_generic_plan",
                                                    **KEYED_ONLY})
        writes = await create_pool(db, min_size=loops, max_size=loops, reset_session=False,
                                   server_settings=KEYED_ONLY)
        store = JobStore(writes)
        for offset in range(0, jobs, 1000):
            await store.create_many("noop", [{} for _ in range(min(1000, jobs - offset))])
        await writes.execute("VACUUM ANALYZE jobs")
        node = uuid4()

        async def loop() -> int:
            n = 0
            async with claims.acquire() as claim, writes.acquire() as write:
                while rows := await claim.fetch(q("claim_open"), node, batch):
                    now = datetime.now(UTC)
                    done = [Finish(r["id"], r["token"], "completed", now, now, None, {}, None)
                            for r in rows]
                    await write.fetch(q("finish_jobs"), *finish_columns(done))
                    n += len(rows)
            return n

        start = time.perf_counter()
        counts = await asyncio.gather(*(loop() for _ in range(loops)))
        rate = sum(counts) / (time.perf_counter() - start)
        await claims.close()
        await writes.close()
    assert sum(counts) == jobs
    return rate


async def bare_pickup(samples: int, per_second: float) -> list[float]:
    """A bare LISTEN/NOTIFY consumer: ms from a row's `created_at` to its claim having returned.

    Measured like ours (`started_at - created_at`, the worker's clock after the claim came back).
    """
    async with scratch_database("peer_notify") as db:
        consumer = await asyncpg.connect(db)
        await consumer.execute(
            "CREATE TABLE q (id bigserial PRIMARY KEY, status text NOT NULL DEFAULT 'open', "
            "created_at timestamptz NOT NULL DEFAULT now())")
        await consumer.execute("CREATE INDEX q_open ON q (id) WHERE status = 'open'")
        claim = await consumer.prepare(
            "UPDATE q SET status = 'done' WHERE id IN (SELECT id FROM q WHERE status = 'open' "
            "ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED) "
            "RETURNING created_at")
        woken = asyncio.Event()
        await consumer.add_listener("q_new", lambda *_: woken.set())
        waits: list[float] = []

        async def consume() -> None:
            while len(waits) < samples:
                await woken.wait()
                woken.clear()
                rows = await claim.fetch()
                now = datetime.now(UTC)
                waits.extend((now - r["created_at"]).total_seconds() * 1000 for r in rows)

        producer = await asyncpg.connect(db)
        task = asyncio.create_task(consume())
        for _ in range(samples):
            await producer.execute("INSERT INTO q DEFAULT VALUES; NOTIFY q_new")
            await asyncio.sleep(1 / per_second)
        await asyncio.wait_for(task, 30)
        await producer.close()
        await consumer.close()
    return waits
