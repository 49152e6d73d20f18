"""What the dashboard's live polling costs the database, beside what a Prometheus scrape costs.

    python bench/dashboard.py [--jobs 300000] [--requests 40]

Fills a scratch database (DATABASE_URL, default the local server) with `--jobs` finished jobs
spread over the last two hours, then serves the app in-process (httpx over ASGI, no network):

* the overview's live fragment (what every open tab fetches every 2 s), its 1 s shared cache
  cleared before each request (the completed count, a whole-table count kept 10 s, is not),
  beside the whole-table per-state count `supervisor status` makes for the same figures;
* the chart's per-minute query bounded to the newest 100,000 jobs, beside the same query over
  the whole table (what it would cost without the bound).

The scratch database is dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from collections.abc import Awaitable, Callable

import httpx

from bench.common import median, percentile, row, scratch_database
from supervisor.api.app import create_app
from supervisor.api.context import StandaloneRuntime
from supervisor.config import load_config
from supervisor.families import discover
from supervisor.store.api_keys import ApiKeyStore
from supervisor.store.dashboard import THROUGHPUT_WINDOW
from supervisor.store.db import create_pool
from supervisor.store.jobs import JobStore
from supervisor.store.sql import q

FILL = """
INSERT INTO jobs (job_type, data, status, attempts, started_at, finished_at)
SELECT CASE WHEN g % 7 = 0 THEN 'sleep' ELSE 'noop' END, '{}',
       CASE WHEN g % 50 = 0 THEN 'dead' ELSE 'completed' END, 1,
       now() - make_interval(secs => ($1 - g) * 7200.0 / $1) - interval '5 ms',
       now() - make_interval(secs => ($1 - g) * 7200.0 / $1)
FROM generate_series(1, $1) AS g
"""


async def timed(call: Callable[[], Awaitable[object]], n: int) -> list[float]:
    """Milliseconds of each of `n` sequential calls."""
    out = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        out.append((time.perf_counter() - start) * 1000)
    return out


async def main(jobs: int, requests: int) -> None:
    """Fill, serve, measure, print."""
    async with scratch_database("bench_ui") as dsn:
        pool = await create_pool(dsn, min_size=1, max_size=4)
        await pool.execute(FILL, jobs)
        await pool.execute("VACUUM ANALYZE jobs")
        key, _ = await ApiKeyStore(pool).create("bench")
        config = load_config(env={"DATABASE_URL": dsn})
        app = create_app(StandaloneRuntime(config, discover(), pool, JobStore(pool)))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://bench") as client:
            form = await client.get("/ui/login")
            token = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert token
            await client.post("/ui/login", data={"key": key, "csrf": token[1]})

            async def fragment() -> object:
                app.state.ui_reports.clear()
                answer = await client.get("/ui/overview/live")
                assert answer.status_code == 200
                return answer

            live = await timed(fragment, requests)
        scrape = await timed(lambda: pool.fetch(q("count_by_state")), requests)
        bounded = await timed(lambda: pool.fetch(q("ui_throughput"), THROUGHPUT_WINDOW), 5)
        whole = await timed(lambda: pool.fetch(q("ui_throughput"), jobs + 1), 5)
        await pool.close()
    print(f"dashboard bench: {jobs:,} finished jobs, {requests} sequential requests each\n")
    print(row("", "ours", "baseline"))
    print(row("overview live fragment p50 / p99 (ms)",
              f"{median(live):.1f} / {percentile(live, 99):.1f}",
              f"{median(scrape):.1f} / {percentile(scrape, 99):.1f}",
              f"count_by_state; ratio p50 {median(live) / median(scrape):.2f}"))
    ratio = median(bounded) / median(whole)
    print(row("per-minute chart query, median (ms)", f"{median(bounded):.1f}",
              f"{median(whole):.1f}", f"unbounded scan; ratio {ratio:.2f}"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300_000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(main(args.jobs, args.requests))
