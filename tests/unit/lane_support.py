"""Job types and a lane builder for the in-memory lane tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4

import anyio
from pydantic import BaseModel, ConfigDict

from supervisor.jobtypes import JobContext, JobDefaults, Registry
from supervisor.lanes.lane import Lane, LaneSettings
from supervisor.lanes.limits import ConcurrencyLimits
from supervisor.lanes.writer import StatusWriter
from supervisor.store.ports import JobStore


class AnyPayload(BaseModel):
    """Anything."""

    model_config = ConfigDict(extra="allow")


class Gate:
    """A job type whose runs wait for `release`, counting how many run at once."""

    payload_model = AnyPayload

    def __init__(self, name: str = "gate", defaults: JobDefaults | None = None) -> None:
        self.name = name
        self.defaults = defaults or JobDefaults()
        self.open = asyncio.Event()
        self.running = 0
        self.most = 0
        self.started = 0

    async def run(self, ctx: JobContext, payload: AnyPayload) -> dict[str, Any] | None:
        """Wait for the gate; fail when the payload says so."""
        self.running += 1
        self.started += 1
        self.most = max(self.most, self.running)
        try:
            await self.open.wait()
        finally:
            self.running -= 1
        if getattr(payload, "fail", False):
            raise RuntimeError("asked to fail")
        return {"ran": self.name}


class Quick:
    """Returns at once, or raises when the payload has `fail`."""

    name = "quick"
    payload_model = AnyPayload

    async def run(self, ctx: JobContext, payload: AnyPayload) -> dict[str, Any] | None:
        """Done."""
        if getattr(payload, "fail", False):
            raise ValueError("asked to fail")
        return {"ok": True}


def lane(store: JobStore, registry: Registry, *, name: str = "first_time",
         workers: int = 4, queue_size: int = 10, limits: ConcurrencyLimits | None = None,
         backoff: str = "fixed", grace: float = 5.0) -> tuple[Lane, StatusWriter]:
    """A lane on a store (memory or PostgreSQL) with its status writer."""
    writer = StatusWriter(store)
    settings = LaneSettings(name=name, workers=workers, queue_size=queue_size, batch=100,
                            poll_seconds=0.05, grace_seconds=grace, backoff=backoff,
                            limits=limits)
    return Lane(settings, store=store, writer=writer, registry=registry, node_id=uuid4(),
                wake=asyncio.Event()), writer


@asynccontextmanager
async def running(the_lane: Lane, writer: StatusWriter) -> AsyncIterator[asyncio.Event]:
    """Run a lane and its writer; set the yielded event to stop; every mark is written after."""
    stopping, writer_stop = asyncio.Event(), asyncio.Event()
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run, writer_stop)
        async with anyio.create_task_group() as lanes:
            await lanes.start(the_lane.run, stopping)
            yield stopping
        writer_stop.set()
    assert writer.pending() == 0


async def until(check: Any, timeout: float = 5.0) -> None:
    """Wait for `check()` to be true (the bound keeps a broken test from hanging)."""
    with anyio.fail_after(timeout):
        while not check():
            await asyncio.sleep(0.001)
