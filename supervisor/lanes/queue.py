"""The bounded in-memory queue between a runner and its workers (backpressure)."""

from __future__ import annotations

import asyncio
from collections import deque

from supervisor.store.jobs import Claimed


class JobQueue:
    """At most `maxsize` claimed jobs; the runner refills only below half full."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.low_water = maxsize // 2
        self._items: deque[Claimed] = deque()
        self._not_empty = asyncio.Event()
        self.room = asyncio.Event()
        self.room.set()
        self.closed = False

    def __len__(self) -> int:
        return len(self._items)

    def free(self) -> int:
        """How many more jobs fit."""
        return self.maxsize - len(self._items)

    def put_many(self, jobs: list[Claimed]) -> None:
        """Add claimed jobs; the runner never asks for more than free() so this never overflows."""
        if self.closed:
            raise RuntimeError("queue is closed")
        if len(jobs) > self.free():
            raise OverflowError(f"{len(jobs)} jobs do not fit in {self.free()} free slots")
        self._items.extend(jobs)
        if self._items:
            self._not_empty.set()
        if len(self._items) > self.low_water:
            self.room.clear()

    async def get(self) -> Claimed | None:
        """The next job, waiting for one; None once the queue is closed."""
        while not self._items:
            if self.closed:
                return None
            self._not_empty.clear()
            await self._not_empty.wait()
        job = self._items.popleft()
        if len(self._items) <= self.low_water:
            self.room.set()
        return job

    def jobs(self) -> list[Claimed]:
        """The queued jobs, oldest first."""
        return list(self._items)

    def discard(self, runs: set[tuple[int, int]]) -> list[Claimed]:
        """Drop queued (job id, token) runs that are no longer ours (taken during an outage)."""
        dropped = [j for j in self._items if (j.id, j.token) in runs]
        if dropped:
            self._items = deque(j for j in self._items if (j.id, j.token) not in runs)
            if len(self._items) <= self.low_water:
                self.room.set()
        return dropped

    def close(self) -> list[Claimed]:
        """Stop the queue: waiting workers get None; returns the jobs nobody started."""
        self.closed = True
        left = list(self._items)
        self._items.clear()
        self._not_empty.set()
        return left
