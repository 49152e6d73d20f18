"""The database watch ends an outage as soon as PostgreSQL answers, and only then."""

from __future__ import annotations

import asyncio

import anyio

from supervisor.cluster.dbwatch import DbWatch
from supervisor.cluster.listener import WakeHub
from supervisor.runtime.waiting import DbHealth


async def test_an_outage_ends_and_wakes_the_runners_once_the_database_answers(
    db_dsn: str,
) -> None:
    health, hub, stopping = DbHealth(), WakeHub(), asyncio.Event()
    health.lost()
    waiting = health.back
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            await tg.start(DbWatch(db_dsn, health, hub, interval=0.05).run, stopping)
            await waiting.wait()
            stopping.set()
    assert not health.down.is_set()
    assert hub.events["open"].is_set() and hub.events["retry"].is_set()


async def test_an_unreachable_database_keeps_the_outage_open() -> None:
    health, hub = DbHealth(), WakeHub()
    watch = DbWatch("postgresql://postgres@127.0.0.1:1/none", health, hub, interval=0.05)
    assert not await watch.probe()
