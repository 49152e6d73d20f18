"""Proof that each service loop still makes progress, and the finished-jobs rate, for the watchdog.

The database answering says little about the services: a loop can hang on a lock, an event
nobody sets or a stuck client while the process and its heartbeat look fine. So every service
loop calls `beat(within)` once per round, saying when to expect it back, and the watchdog stops
pinging when a service is overdue. The service a beat belongs to travels in a context variable
set by `Liveness.watched`, so loops need no plumbing: tasks a service starts inherit it, and a
loop run outside the daemon (tests, benches) beats into nothing.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# A service is overdue after SLACK times the wait it announced, and never sooner than
# FLOOR_SECONDS: a busy event loop or a slow query must not get a healthy process killed.
SLACK = 3.0
FLOOR_SECONDS = 60.0
RATE_WINDOW = 60.0

_current: ContextVar[tuple[Liveness, str] | None] = ContextVar("supervisor_service", default=None)


def beat(within: float) -> None:
    """Mark progress of the current service, which promises to beat again within `within` s."""
    current = _current.get()
    if current is not None:
        current[0].beat(current[1], within)


class Liveness:
    """The last beat of every watched service, judged against the wait each one announced."""

    def __init__(self, floor: float = FLOOR_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.floor = floor
        self._clock = clock
        self._beats: dict[str, tuple[float, float]] = {}  # name -> (when, announced wait)

    def beat(self, name: str, within: float) -> None:
        """Record that `name` made progress now."""
        self._beats[name] = (self._clock(), within)

    @contextmanager
    def watching(self, name: str) -> Iterator[None]:
        """Beats in this task, and in tasks it starts, count for `name`; forgotten at exit."""
        token = _current.set((self, name))
        try:
            yield
        finally:
            _current.reset(token)
            # A crashed service waiting for its restart is the restart policy's business.
            self._beats.pop(name, None)

    def watched(self, name: str, run: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        """`run` (a service's run method) with its beats counted for `name`."""

        async def watched_run(*args: Any, **kwargs: Any) -> Any:
            with self.watching(name):
                return await run(*args, **kwargs)

        return watched_run

    def ages(self) -> dict[str, float]:
        """Seconds since each watched service last beat."""
        now = self._clock()
        return {name: round(now - at, 1) for name, (at, _) in sorted(self._beats.items())}

    def stale(self) -> dict[str, float]:
        """Services overdue, with the seconds since their last beat."""
        now = self._clock()
        return {name: round(now - at, 1) for name, (at, within) in sorted(self._beats.items())
                if now - at > max(SLACK * within, self.floor)}


class FinishRate:
    """Jobs finished in about the last minute, from samples of a running total."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._samples: deque[tuple[float, int]] = deque([(clock(), 0)])

    def per_minute(self, total: int) -> int:
        """Add a sample of `total` and return the finishes per minute over the last minute."""
        now = self._clock()
        samples = self._samples
        samples.append((now, total))
        # Keep exactly one sample at least a minute old: the baseline the rate is taken from.
        while len(samples) > 2 and samples[1][0] <= now - RATE_WINDOW:
            samples.popleft()
        start, base = samples[0]
        span = now - start
        if span <= RATE_WINDOW:
            return total - base  # younger than a minute: everything finished so far
        return round((total - base) * RATE_WINDOW / span)
