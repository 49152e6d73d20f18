"""Small waiting helpers shared by every loop: wait for any event, back off on errors."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import anyio


async def wait_any(*events: asyncio.Event | None, timeout: float | None = None) -> bool:
    """Wait until one of the events is set or the timeout passes; True if an event fired."""
    live = [e for e in events if e is not None]
    if any(e.is_set() for e in live):
        return True
    if timeout is not None and timeout <= 0:
        return False
    fired = False
    with anyio.move_on_after(timeout):
        async with anyio.create_task_group() as tg:

            async def waiter(event: asyncio.Event) -> None:
                nonlocal fired
                await event.wait()
                fired = True
                tg.cancel_scope.cancel()

            for event in live:
                tg.start_soon(waiter, event)
    return fired


@dataclass
class Backoff:
    """Exponential delays for retrying a failing dependency: 0.5 s doubling up to `cap`."""

    first: float = 0.5
    cap: float = 30.0
    failures: int = 0

    def next(self) -> float:
        """The next delay, growing with each failure."""
        self.failures += 1
        return float(min(self.cap, self.first * 2 ** (self.failures - 1)))

    def reset(self) -> None:
        """Forget past failures after a success."""
        self.failures = 0
