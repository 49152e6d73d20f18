"""Small waiting helpers shared by every loop: wait for any event, back off on errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass


async def wait_any(*events: asyncio.Event | None, timeout: float | None = None) -> bool:
    """Wait until one of the events is set or the timeout passes; True if an event fired.

    Plain asyncio: this is on the pickup path of every job (a runner waiting for a wake-up),
    and an anyio task group with a cancel scope cost several loop turns more than this.
    """
    live = [e for e in events if e is not None]
    if any(e.is_set() for e in live):
        return True
    if timeout is not None and timeout <= 0:
        return False
    waiters = [asyncio.ensure_future(e.wait()) for e in live]
    try:
        done, _ = await asyncio.wait(waiters, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    return bool(done)


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


class DbHealth:
    """PostgreSQL as this process last saw it: loops report an outage, one probe reports it over.

    Every loop that backs off from a database error waits on `back` as well as its timer, so the
    moment the probe (supervisor.cluster.dbwatch) gets an answer again, all of them retry at
    once instead of sleeping out a backoff of up to 30 s.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.down = asyncio.Event()
        self.back = asyncio.Event()
        self.up_since = clock()  # start of the current stretch of the database answering
        self.outages = 0

    def lost(self) -> None:
        """A loop could not reach the database."""
        if not self.down.is_set():
            self.down.set()
            self.outages += 1

    def restored(self, *, was_away: bool = True) -> None:
        """The database answers again: wake every loop waiting to retry.

        `was_away=False` when it answered the first probe: an error such as a deadlock, not a
        lost connection, so the stretch of the database answering goes on.
        """
        if self.down.is_set():
            self.down.clear()
            if was_away:
                self.up_since = self._clock()
            back, self.back = self.back, asyncio.Event()
            back.set()

    def settled_for(self) -> float:
        """Seconds the database has answered since the last outage; 0 while one may last."""
        return 0.0 if self.down.is_set() else self._clock() - self.up_since


_health: ContextVar[DbHealth | None] = ContextVar("supervisor_db_health", default=None)


def current_health() -> DbHealth | None:
    """The daemon's DbHealth for the running task, if any (tasks inherit it from the daemon)."""
    return _health.get()


def use_health(health: DbHealth | None) -> None:
    """Make `health` the one loops started from this task (and its children) report to."""
    _health.set(health)


async def wait_retry(delay: float, *events: asyncio.Event | None) -> bool:
    """After a database error: report it, then wait `delay`, an event, or the database's return."""
    health = _health.get()
    if health is not None:
        health.lost()
    return await wait_any(*events, health.back if health is not None else None, timeout=delay)
