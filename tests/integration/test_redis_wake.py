"""Redis wake-ups on a real Redis: published topics reach other processes' runners."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import uuid4

import anyio
import redis.asyncio as aioredis
from pytest import fixture

from supervisor.cluster.listener import WakeHub
from supervisor.cluster.redis_wake import RedisWake
from supervisor.cluster.redis_wake import redis_url as build_redis_url
from supervisor.daemon import Daemon
from supervisor.store.jobs import JobStore
from tests.conftest import make_config
from tests.helpers import eventually, families_with, running_daemon, statuses


@fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    c = aioredis.Redis.from_url(redis_url)
    yield c
    await c.aclose()


async def test_topics_published_by_one_process_wake_another(client: aioredis.Redis) -> None:
    hub_a, hub_b = WakeHub(), WakeHub()
    a, b = RedisWake(client, hub_a), RedisWake(client, hub_b)
    cancelled: list[object] = []
    hub_b.cancel_handlers.append(cancelled.append)
    stop = asyncio.Event()
    async with anyio.create_task_group() as tg:
        await tg.start(b.run, stop)
        await a.publish("retry")
        job = uuid4()
        await a.publish(f"cancel:{job}")
        with anyio.fail_after(10):
            await hub_b.events["retry"].wait()
            while not cancelled:
                await anyio.sleep(0.01)
        stop.set()
    assert cancelled == [job]
    assert not hub_b.events["open"].is_set()


async def test_daemon_with_redis_announces_created_jobs(
    db_dsn: str, redis_url: str, store: JobStore, client: aioredis.Redis
) -> None:
    config = make_config(db_dsn, redis_host=redis_url)
    assert build_redis_url(config) == redis_url
    daemon = Daemon(config, families_with(), only=["first_time"])
    async with running_daemon(daemon), client.pubsub() as pubsub:
        await pubsub.subscribe("supervisor:wake")
        rt = daemon.runtime
        assert rt is not None and rt.redis_wake is not None
        await rt.jobs.create("noop", {})
        with anyio.fail_after(10):
            while (m := await pubsub.get_message(ignore_subscribe_messages=True,
                                                 timeout=1)) is None:
                pass
        assert m["data"] == b"open"
        await eventually(lambda: _completed(rt.jobs), what="job completed")


def test_redis_url_from_host_port_and_password() -> None:
    base = make_config("postgresql://x/y")
    assert build_redis_url(base) is None
    cfg = base.with_overrides(redis_host="cache:6380", redis_password="p@ss")
    assert build_redis_url(cfg) == "redis://:p%40ss@cache:6380/0"
    assert build_redis_url(base.with_overrides(redis_host="cache")) == "redis://cache:6379/0"


async def _completed(jobs: JobStore) -> bool:
    return (await statuses(jobs.pool)).get("completed", 0) == 1
