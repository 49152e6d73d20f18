"""Listing by job type, the metrics gauges, and job creation under /metrics scrapes, 1M rows.

    python -m bench.listing [--rows 1000000] [--scrapers 20]

Each figure is printed beside the behaviour before issue 8 from the same run: the old list query
without jobs_type_idx (dropped inside a transaction that is rolled back), the old whole-table
GROUP BY, and a /metrics that ran it on every scrape.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import asyncpg
import httpx

from bench.common import median, percentile, row, scratch_database
from services import build_registry
from supervisor.api.app import create_app
from supervisor.api.context import StandaloneRuntime
from supervisor.config import load_config
from supervisor.runtime.eventloop import backend_options
from supervisor.store.api_keys import ApiKeyStore
from supervisor.store.db import create_pool
from supervisor.store.jobs import JobStore

OLD_LIST = """SELECT * FROM jobs WHERE ($1::text[] IS NULL OR status = ANY($1))
  AND ($2::text IS NULL OR job_type = $2) AND ($3::bigint IS NULL OR id < $3)
ORDER BY id DESC LIMIT $4"""
SCRAPE_PAUSE = 0.1
OLD_COUNT = "SELECT job_type, status, count(*) AS n FROM jobs GROUP BY job_type, status"


class OldGauges(JobStore):
    """The store as /metrics used it before: the whole-table GROUP BY."""

    async def unfinished_counts(self) -> Any:
        """Every (type, state) pair, counted over the whole table."""
        return await self.pool.fetch(OLD_COUNT)


async def fill(pool: asyncpg.Pool, rows: int) -> None:
    """`rows` finished jobs, the 100 oldest of a rare type, plus 50 open ones."""
    await pool.execute(
        "INSERT INTO jobs (job_type, status) SELECT CASE WHEN g <= 100 THEN 'sleep' ELSE "
        "'noop' END, 'completed' FROM generate_series(1, $1) g", rows)
    await pool.execute("INSERT INTO jobs (job_type) SELECT 'noop' FROM generate_series(1, 50)")
    await pool.execute("VACUUM ANALYZE jobs")


async def ms(fn: Callable[[], Awaitable[Any]], times: int = 15) -> float:
    """Median milliseconds of `fn`, after one warm-up call."""
    await fn()
    taken = []
    for _ in range(times):
        start = time.perf_counter()
        await fn()
        taken.append((time.perf_counter() - start) * 1000)
    return median(taken)


async def old_list_ms(pool: asyncpg.Pool) -> float:
    """The old list query by type, without jobs_type_idx (rolled back afterwards)."""
    async with pool.acquire() as conn:
        tr = conn.transaction()
        await tr.start()
        await conn.execute("DROP INDEX jobs_type_idx")
        try:
            return await ms(lambda: conn.fetch(OLD_LIST, None, "sleep", None, 25))
        finally:
            await tr.rollback()


async def creates_under_scrapes(pool: asyncpg.Pool, store: JobStore, scrapers: int,
                                creates: int = 100, every: float | None = None) -> list[float]:
    """Create latencies (ms) over HTTP while `scrapers` clients keep scraping /metrics.

    Everything runs in one process and event loop (httpx's ASGI transport), so the clients'
    own work counts against the API too; the comparison is between the two /metrics versions.
    """
    config = load_config(env={}).with_overrides(database_url="bench")
    app = create_app(StandaloneRuntime(config, build_registry(), pool, store))
    if every is not None:
        app.state.figures.every = every
    key, _ = await ApiKeyStore(pool).create(f"bench-{time.monotonic_ns()}")
    transport = httpx.ASGITransport(app=app)
    done = asyncio.Event()
    taken: list[float] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://b",
                                 headers={"X-API-Key": key}, timeout=120) as client:
        async def scrape() -> None:
            while not done.is_set():  # each client up to 10 scrapes/s: an aggressive poller
                await client.get("/metrics")
                await asyncio.sleep(SCRAPE_PAUSE)

        tasks = [asyncio.create_task(scrape()) for _ in range(scrapers)]
        await asyncio.sleep(0.5)
        for _ in range(creates):
            start = time.perf_counter()
            r = await client.post("/common/jobs/create", json={"job_type": "noop",
                                                               "job_data": {}})
            assert r.status_code == 201, r.text
            taken.append((time.perf_counter() - start) * 1000)
        done.set()
        await asyncio.gather(*tasks)
    return taken


async def main(rows: int, scrapers: int) -> None:
    """Print each figure beside the old behaviour and the ratio."""
    logging.disable(logging.WARNING)
    async with scratch_database() as db:
        pool = await create_pool(db, max_size=8)
        await fill(pool, rows)
        store = JobStore(pool)
        list_new = await ms(lambda: store.list(job_type="sleep"))
        list_old = await old_list_ms(pool)
        gauge_new = await ms(store.unfinished_counts)
        gauge_old = await ms(lambda: pool.fetch(OLD_COUNT))
        quiet = await creates_under_scrapes(pool, store, 0)
        new = await creates_under_scrapes(pool, store, scrapers)
        old = await creates_under_scrapes(pool, OldGauges(pool), scrapers, every=0)
        await pool.close()
    print(f"listing and metrics bench: {rows:,} finished jobs, {scrapers} scrapers")
    print(row("measure", "now", "before", "before / now"))
    print(row("job list --type <rare type>, 25 rows (ms)", f"{list_new:.2f}",
              f"{list_old:.2f}", f"{list_old / list_new:,.0f}x"))
    print(row("job gauges query (ms)", f"{gauge_new:.2f}", f"{gauge_old:.2f}",
              f"{gauge_old / gauge_new:,.0f}x"))
    print(row("create p50, no scrapers (ms)", f"{percentile(quiet, 50):.2f}"))
    print(row(f"create p50, {scrapers} scrapers (ms)", f"{percentile(new, 50):.2f}",
              f"{percentile(old, 50):.2f}", f"{percentile(old, 50) / percentile(new, 50):,.0f}x"))
    print(row(f"create p99, {scrapers} scrapers (ms)", f"{percentile(new, 99):.2f}",
              f"{percentile(old, 99):.2f}"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--scrapers", type=int, default=20)
    args = parser.parse_args()
    anyio.run(main, args.rows, args.scrapers, backend_options=backend_options())
