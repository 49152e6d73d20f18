"""The shape of every periodic service: do one unit, then wait for the interval or `stopping`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from supervisor.runtime.liveness import beat
from supervisor.runtime.waiting import Backoff, wait_any, wait_retry
from supervisor.store.db import is_transient


async def every(
    interval: float, step: Callable[[], Awaitable[Any]], stopping: asyncio.Event, *,
    log: logging.Logger, action: str, wake: asyncio.Event | None = None,
) -> None:
    """Call `step` every `interval` s until `stopping`; a database outage is waited out."""
    backoff = Backoff()
    while not stopping.is_set():
        beat(interval)
        if wake is not None:
            wake.clear()
        try:
            await step()
            backoff.reset()
        except Exception as exc:
            if not is_transient(exc):
                raise
            delay = min(interval, backoff.next())
            log.warning("database unavailable, will retry", extra={
                "action": action, "error": str(exc), "delay": delay})
            await wait_retry(delay, stopping, wake)
            continue
        await wait_any(stopping, wake, timeout=interval)
