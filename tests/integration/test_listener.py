"""LISTEN/NOTIFY: the start-up self-test, and job creation waking the runners."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import anyio

from supervisor.cluster.listener import Listener, WakeHub
from supervisor.store.jobs import JobStore


async def test_self_test_passes_and_creation_wakes_the_open_topic(
    db_dsn: str, store: JobStore
) -> None:
    hub = WakeHub()
    listener = Listener(db_dsn, hub)
    stop = asyncio.Event()
    cancelled: list[object] = []
    hub.cancel_handlers.append(cancelled.append)
    async with anyio.create_task_group() as tg:
        await tg.start(listener.run, stop)
        assert listener.notifications_work is True
        hub.events["open"].clear()
        await store.create_many("noop", [{} for _ in range(50)])
        with anyio.fail_after(10):
            await hub.events["open"].wait()
        job = await store.create("noop", {})
        await store.cancel(job["uuid"])
        with anyio.fail_after(10):
            while not cancelled:
                await anyio.sleep(0.01)
        stop.set()
    assert cancelled == [job["uuid"]]
    assert not hub.events["retry"].is_set()


async def test_unknown_payloads_wake_everyone_rather_than_nobody() -> None:
    hub = WakeHub()
    hub.wake(f"something-new-{uuid4()}")
    assert all(event.is_set() for event in hub.events.values())
