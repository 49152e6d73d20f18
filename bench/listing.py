"""Listing by job type, the metrics gauges, and job creation under /metrics scrapes, 1M rows.

    python -m bench.listing [--rows 1000000] [--scrapers 20]

The scrapers run in a process of their own, as Prometheus would. Each figure is printed beside
the behaviour before issue 8 from the same run: the old list query without jobs_type_idx
(dropped inside a transaction that is rolled back), the old whole-table GROUP BY, and a
/metrics that ran it on every scrape.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import asyncpg
import httpx
from prometheus_client import CollectorRegistry

from bench.common import median, percentile, row, scratch_database
from supervisor.api.app import create_app
from supervisor.api.context import StandaloneRuntime
from supervisor.api.ops import DatabaseFigures, RenderedPage
from supervisor.api.service import ApiService
from supervisor.config import load_config
from supervisor.families import discover
from supervisor.runtime.eventloop import backend_options
from supervisor.store.api_keys import ApiKeyStore
from supervisor.store.db import create_pool
from supervisor.store.jobs import JobStore

OLD_LIST = """SELECT * FROM jobs WHERE ($1::text[] IS NULL OR status = ANY($1))
  AND ($2::text IS NULL OR job_type = $2) AND ($3::bigint IS NULL OR id < $3)
ORDER BY id DESC LIMIT $4"""
SCRAPE_PAUSE = 0.1
OLD_COUNT = "SELECT job_type, status, count(*) AS n FROM jobs GROUP BY job_type, status"


class OldFigures(DatabaseFigures):
    """/metrics's gauges before: the whole-table GROUP BY on every scrape, no sharing."""

    async def refresh(self, jobs: JobStore) -> None:
        """Count every (type, state) pair over the whole table, now."""
        rows = await jobs.pool.fetch(OLD_COUNT)
        self.counts = [(r["job_type"], r["status"], int(r["n"])) for r in rows]
        self.oldest_ready = await jobs.oldest_ready_age()


class EveryTime(RenderedPage):
    """No reuse of the rendered body."""

    async def get(self, render: Callable[[], Awaitable[bytes]]) -> bytes:
        """Render now."""
        return await render()


def old_metrics(app: Any) -> Any:
    """`app` with /metrics as it was before issue 8."""
    app.state.figures = OldFigures()
    app.state.metrics_registry = CollectorRegistry(auto_describe=True)
    app.state.metrics_registry.register(app.state.figures)
    app.state.metrics_page = EveryTime()
    return app


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


def scrape_forever(url: str, clients: int) -> None:
    """The scrapers' process: `clients` loops, each up to 10 scrapes/s, until killed."""
    async def one(client: httpx.AsyncClient) -> None:
        while True:
            await client.get(url)
            await asyncio.sleep(SCRAPE_PAUSE)

    async def every() -> None:
        async with httpx.AsyncClient(timeout=120) as client:
            await asyncio.gather(*(one(client) for _ in range(clients)))

    asyncio.run(every())


async def creates_under_scrapes(pool: asyncpg.Pool, scrapers: int, *, old: bool = False,
                                creates: int = 200) -> list[float]:
    """Create latencies (ms) over HTTP while `scrapers` clients in another process scrape."""
    config = load_config(env={}).with_overrides(database_url="bench", api_port=0)
    runtime = StandaloneRuntime(config, discover(), pool, JobStore(pool))
    app = create_app(runtime)
    service = ApiService(runtime, app=old_metrics(app) if old else app)
    key, _ = await ApiKeyStore(pool).create(f"bench-{time.monotonic_ns()}")
    stopping = asyncio.Event()
    taken: list[float] = []
    async with anyio.create_task_group() as tg:
        await tg.start(service.run, stopping)
        base = f"http://127.0.0.1:{service.port}"
        scraper = await anyio.open_process(
            [sys.executable, "-m", "bench.listing", "--scrape", f"{base}/metrics",
             "--scrapers", str(scrapers)]) if scrapers else None
        await asyncio.sleep(1.0)
        async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": key},
                                     timeout=120) as client:
            for _ in range(creates):
                start = time.perf_counter()
                r = await client.post("/common/jobs/create", json={"job_type": "noop",
                                                                   "job_data": {}})
                assert r.status_code == 201, r.text
                taken.append((time.perf_counter() - start) * 1000)
        if scraper is not None:
            scraper.kill()
            await scraper.wait()
        stopping.set()
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
        quiet = await creates_under_scrapes(pool, 0)
        new = await creates_under_scrapes(pool, scrapers)
        old = await creates_under_scrapes(pool, scrapers, old=True)
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
    parser.add_argument("--scrape", metavar="URL", help=argparse.SUPPRESS)  # the child's mode
    args = parser.parse_args()
    if args.scrape:
        scrape_forever(args.scrape, args.scrapers)
    else:
        anyio.run(main, args.rows, args.scrapers, backend_options=backend_options())
