"""Helpers for tests that run services: start them, wait for a condition, stop them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import asyncpg

from supervisor.daemon import Daemon
from supervisor.families import Families, Family, discover


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20.0,
                     what: str = "condition") -> None:
    """Poll `check` until it is true; fail the test after `timeout` (a bound, not a measurement)."""
    with anyio.move_on_after(timeout):
        while not await check():
            await anyio.sleep(0.02)
        return
    raise AssertionError(f"timed out waiting for {what}")


async def statuses(pool: asyncpg.Pool) -> dict[str, int]:
    """How many jobs are in each status."""
    rows = await pool.fetch("SELECT status, count(*) AS n FROM jobs GROUP BY status")
    return {r["status"]: r["n"] for r in rows}


@asynccontextmanager
async def running_daemon(daemon: Daemon) -> AsyncIterator[Daemon]:
    """Run a Daemon in the background of a test; stop it gracefully on exit."""
    async with anyio.create_task_group() as tg:
        result: dict[str, Any] = {}

        async def main() -> None:
            result["code"] = await daemon.run()

        tg.start_soon(main)
        await asyncio.wait_for(daemon.started.wait(), 30)
        try:
            yield daemon
        finally:
            daemon.request_stop("test finished")


def families_with(*types: Any) -> Families:
    """The installed families plus a family of test job types."""
    return Families([*(lf.family for lf in discover()), Family("tests", job_types=types)])
