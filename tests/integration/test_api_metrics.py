"""/metrics cannot starve the API: gauges read once per interval, cheaply, key optional."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx

from supervisor.api.app import create_app
from supervisor.api.ops import DatabaseFigures
from supervisor.config import Config
from supervisor.store.api_keys import ApiKeyStore
from supervisor.store.jobs import JobStore
from tests.integration.api_support import api_client, standalone

OPEN_NOOP = 'supervisor_jobs{job_type="noop",status="open"}'


class CountingStore(JobStore):
    """The real store, counting how often the gauges are read."""

    reads = 0

    async def unfinished_counts(self) -> Any:
        """Count, then read."""
        self.reads += 1
        return await super().unfinished_counts()


def _value(text: str, series: str) -> float:
    line = next(x for x in text.splitlines() if x.startswith(series + " "))
    return float(line.split()[-1])


async def test_scrapes_are_served_the_last_values_until_the_interval_passes(
    pool: asyncpg.Pool, config: Config,
) -> None:
    async with api_client(pool, config) as (client, rt):
        await rt.jobs.create("noop", {})
        first = await client.get("/metrics")
        await rt.jobs.create("noop", {})
        cached = await client.get("/metrics")
        state = client._transport.app.state  # type: ignore[attr-defined]
        figures: DatabaseFigures = state.figures
        figures.every = 0
        state.metrics_page.every = 0
        fresh = await client.get("/metrics")
    assert _value(first.text, OPEN_NOOP) == 1 and _value(cached.text, OPEN_NOOP) == 1
    assert _value(fresh.text, OPEN_NOOP) == 2
    assert "supervisor_job_gauges_age_seconds" in fresh.text


async def test_concurrent_scrapes_share_one_read(pool: asyncpg.Pool, config: Config) -> None:
    store = CountingStore(pool)
    rt = standalone(pool, config)
    rt.jobs = store
    app = create_app(rt)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        answers = await asyncio.gather(*(client.get("/metrics") for _ in range(20)))
    assert {r.status_code for r in answers} == {200}
    assert store.reads == 1


async def test_completed_history_is_not_counted_at_scrape_time(pool: asyncpg.Pool,
                                                              config: Config) -> None:
    await pool.execute("INSERT INTO jobs (job_type, status) SELECT 'noop', 'completed' "
                       "FROM generate_series(1, 50)")
    async with api_client(pool, config) as (client, rt):
        await rt.jobs.create("noop", {})
        text = (await client.get("/metrics")).text
    assert _value(text, OPEN_NOOP) == 1
    assert 'supervisor_jobs{job_type="noop",status="completed"}' not in text


async def test_metrics_can_require_a_key(pool: asyncpg.Pool, config: Config) -> None:
    locked = config.with_overrides(metrics_require_key=True)
    key, _ = await ApiKeyStore(pool).create("prometheus")
    app = create_app(standalone(pool, locked))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        anonymous = await client.get("/metrics")
        keyed = await client.get("/metrics", headers={"X-API-Key": key})
    assert anonymous.status_code == 401 and anonymous.json()["field"] == "X-API-Key"
    assert keyed.status_code == 200 and "supervisor_jobs" in keyed.text
