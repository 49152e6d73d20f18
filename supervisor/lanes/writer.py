"""Group commit of job status writes: one transaction per batch, in the order they were made."""

from __future__ import annotations

import asyncio
import logging
import time

import anyio
from anyio.abc import TaskStatus

from supervisor.metrics import JOBS_FENCED
from supervisor.runtime.waiting import Backoff, wait_any
from supervisor.store.db import is_transient
from supervisor.store.jobs import Finish, Started
from supervisor.store.ports import JobStore

log = logging.getLogger("supervisor.lanes.writer")
# A job shows as 'processing' once it has run this long. Most short jobs finish sooner and need
# only their final write, which halves the database work of a busy process.
STARTED_MARK_DELAY = 0.02


class StatusWriter:
    """Collects started/finished/released marks and flushes them together.

    Workers never wait for a commit: a flush starts as soon as a mark is due, and whatever
    arrives during it goes into the next one. That is what lets one process finish thousands
    of jobs a second while every job keeps its own status, token and error. Every statement
    checks the job's token, so a stale mark can never overwrite newer state.
    """

    def __init__(self, store: JobStore, max_batch: int = 500,
                 started_delay: float = STARTED_MARK_DELAY) -> None:
        self.store = store
        self.max_batch = max_batch
        self.started_delay = started_delay
        self._started: dict[int, tuple[float, Started]] = {}  # job id -> (due, mark), in order
        self._finished: list[Finish] = []
        self._released: list[tuple[int, int]] = []
        self._pending = asyncio.Event()
        self.flushes = 0
        self.finished_total = 0

    def started(self, mark: Started) -> None:
        """A worker began a job."""
        self._started[mark.id] = (time.monotonic() + self.started_delay, mark)
        self._pending.set()

    def finished(self, mark: Finish) -> None:
        """A job's run ended."""
        self._started.pop(mark.id, None)  # the final write carries started_at
        self._finished.append(mark)
        self._pending.set()

    def released(self, job_id: int, token: int) -> None:
        """A job this process held goes back without using an attempt."""
        self._started.pop(job_id, None)
        self._released.append((job_id, token))
        self._pending.set()

    def pending(self) -> int:
        """Marks not yet committed."""
        return len(self._started) + len(self._finished) + len(self._released)

    def _due_in(self) -> float | None:
        """Seconds until the next flush is due: 0 now, None when nothing is pending."""
        if self._finished or self._released:
            return 0.0
        if not self._started:
            return None
        first_due, _ = next(iter(self._started.values()))
        return max(0.0, first_due - time.monotonic())

    async def run(
        self, stopping: asyncio.Event, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Flush whenever marks are due; after `stopping`, flush what is left and return."""
        task_status.started()
        backoff = Backoff(cap=5.0)
        while True:
            due_in = self._due_in()
            if due_in is None and stopping.is_set():
                return
            if due_in is None or (due_in > 0 and not stopping.is_set()):
                self._pending.clear()
                await wait_any(self._pending, stopping, timeout=due_in)
                continue
            try:
                with anyio.CancelScope(shield=True):
                    await self.flush(everything=stopping.is_set())
                backoff.reset()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                delay = backoff.next()
                log.warning("cannot write job states, retrying", extra={
                    "action": "write_retry", "error": str(exc), "delay": delay,
                    "pending": self.pending()})
                await anyio.sleep(delay)

    def _take_started(self, everything: bool) -> list[Started]:
        now = time.monotonic()
        taken = [m for due, m in self._started.values() if everything or due <= now]
        for mark in taken:
            del self._started[mark.id]
        return taken

    async def flush(self, *, everything: bool = False) -> None:
        """Commit one batch; on error the batch is put back so nothing is lost."""
        finished, self._finished = self._finished[: self.max_batch], self._finished[self.max_batch:]
        started = self._take_started(everything)
        released, self._released = self._released, []
        try:
            applied, fenced = await self.store.write_batch(started, finished, released)
        except BaseException:
            self._finished[:0] = finished
            restored = {m.id: (0.0, m) for m in started}
            self._started = {**restored, **self._started}
            self._released[:0] = released
            raise
        self.flushes += 1
        self.finished_total += applied
        if fenced:
            JOBS_FENCED.inc(len(fenced))
            log.warning("results dropped: jobs were taken over", extra={
                "action": "fenced", "job_ids": sorted(fenced)})
