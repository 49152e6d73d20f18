"""A runner claims jobs into its lane's bounded queue, woken by notifications or by polling."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from uuid import UUID

import anyio
from anyio.abc import TaskStatus

from supervisor.lanes.limits import CAPPED_POLL_SECONDS, ConcurrencyLimits
from supervisor.lanes.queue import JobQueue
from supervisor.runtime.liveness import beat
from supervisor.runtime.waiting import Backoff, wait_retry
from supervisor.store.db import is_transient
from supervisor.store.ports import JobStore

log = logging.getLogger("supervisor.lanes.runner")


class Runner:
    """Claims up to `batch` jobs per statement whenever its queue has room and work exists."""

    def __init__(
        self, lane: str, store: JobStore, queue: JobQueue, node_id: UUID, *, batch: int,
        poll_seconds: float, wake: asyncio.Event, limits: ConcurrencyLimits | None = None,
    ) -> None:
        self.lane = lane
        self.store = store
        self.queue = queue
        self.node_id = node_id
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.wake = wake
        self.limits = limits or ConcurrencyLimits()
        if wake not in self.limits.wakes:  # a restarted lane makes a new runner on the same event
            self.limits.wakes.append(wake)
        self.stopped = asyncio.Event()
        # Held while a claim is in flight: whoever checks for lost claims waits for it.
        self.claiming = asyncio.Lock()

    async def run(
        self, stopping: asyncio.Event, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Claim until `stopping`; sets `stopped` when it will claim no more."""
        task_status.started()
        backoff = Backoff()
        # The idle wait below listens to one event, so a stop must set that event too.
        stop_wakes = asyncio.ensure_future(self._wake_on(stopping))
        try:
            while not stopping.is_set():
                beat(self.poll_seconds)
                # Bounded, so a runner held back by long jobs still proves it is alive.
                if not await self._wait(self.queue.room, self.poll_seconds):
                    continue
                if stopping.is_set():
                    break
                self.wake.clear()
                try:
                    got, asked = await self.claim_once()
                    backoff.reset()
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    delay = backoff.next()
                    log.warning("cannot claim jobs, retrying", extra={
                        "action": "claim_retry", "lane": self.lane, "error": str(exc),
                        "delay": delay})
                    await wait_retry(delay, stopping)
                    continue
                if got < asked:
                    await self._idle(await self._idle_timeout())
        finally:
            stop_wakes.cancel()
            self.stopped.set()

    async def _wake_on(self, stopping: asyncio.Event) -> None:
        await stopping.wait()
        self.wake.set()
        self.queue.room.set()  # harmless: the loop checks `stopping` before it claims

    async def _idle(self, timeout: float) -> None:
        """Sleep until woken or `timeout` s pass."""
        await self._wait(self.wake, timeout)

    @staticmethod
    async def _wait(event: asyncio.Event, timeout: float) -> bool:
        """Whether `event` was set within `timeout` s.

        One event and one timer, not wait_any: both waits of the runner are on the path of every
        job (a wake-up before a pickup, room before a refill), and waiting on two events costs
        two waiter tasks and two more loop turns. A stop sets both events (see _wake_on).
        """
        if event.is_set():
            return True
        try:
            async with asyncio.timeout(timeout):
                await event.wait()
        except TimeoutError:
            return False
        return True

    async def claim_once(self) -> tuple[int, int]:
        """One claim statement for as many jobs as fit; returns (claimed, asked)."""
        asked = min(self.queue.free(), self.batch)
        if asked <= 0:
            return 0, 0
        # Shielded: if this task were cancelled after PostgreSQL committed the claim but before
        # the rows arrived, the jobs would sit 'in_queue' under a live process and never run.
        caps = self.limits.caps(asked) if self.limits else []
        with anyio.CancelScope(shield=True):
            async with self.claiming:
                jobs = await self.store.claim(self.lane, self.node_id, asked, caps)
            if self.limits:
                self.limits.took(j.job_type for j in jobs)
        if jobs:
            self.queue.put_many(jobs)
            log.debug("claimed jobs", extra={"action": "claim", "lane": self.lane,
                                             "count": len(jobs)})
        return len(jobs), asked

    async def _idle_timeout(self) -> float:
        """How long to sleep with nothing to claim: the poll interval, or less for a due retry."""
        poll = min(self.poll_seconds, CAPPED_POLL_SECONDS) if self.limits else self.poll_seconds
        if self.lane != "retry":
            return poll
        try:
            due = await self.store.next_retry_at()
        except Exception as exc:
            if not is_transient(exc):
                raise
            return min(poll, 1.0)
        if due is None:
            return poll
        wait = (due - datetime.now(UTC)).total_seconds()
        return min(poll, max(wait, 0.01))
