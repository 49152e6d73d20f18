"""Group commit of job status writes: one transaction per batch, in the order they were made."""

from __future__ import annotations

import asyncio
import logging

import anyio
from anyio.abc import TaskStatus

from supervisor.db import is_transient
from supervisor.metrics import JOBS_FENCED
from supervisor.store.jobs import Finish, JobStore, Started
from supervisor.waiting import Backoff, wait_any

log = logging.getLogger("supervisor.writer")


class StatusWriter:
    """Collects started/finished/released marks and flushes them together.

    Workers never wait for a commit: a flush starts as soon as anything is pending, and
    whatever arrives during it goes into the next one. That is what lets one process finish
    thousands of jobs a second while every job keeps its own status, token and error.
    Every statement checks the job's token, so a stale mark can never overwrite newer state.
    """

    def __init__(self, store: JobStore, max_batch: int = 500) -> None:
        self.store = store
        self.max_batch = max_batch
        self._started: dict[int, Started] = {}
        self._finished: list[Finish] = []
        self._released: list[tuple[int, int]] = []
        self._pending = asyncio.Event()
        self.flushes = 0
        self.finished_total = 0

    def started(self, mark: Started) -> None:
        """A worker began a job."""
        self._started[mark.id] = mark
        self._pending.set()

    def finished(self, mark: Finish) -> None:
        """A job's run ended."""
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

    async def run(
        self, stopping: asyncio.Event, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Flush whenever marks are pending; after `stopping`, flush what is left and return."""
        task_status.started()
        backoff = Backoff(cap=5.0)
        while True:
            if not self.pending():
                if stopping.is_set():
                    return
                self._pending.clear()
                await wait_any(self._pending, stopping)
                continue
            try:
                with anyio.CancelScope(shield=True):
                    await self.flush()
                backoff.reset()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                delay = backoff.next()
                log.warning("cannot write job states, retrying", extra={
                    "action": "write_retry", "error": str(exc), "delay": delay,
                    "pending": self.pending()})
                await anyio.sleep(delay)

    async def flush(self) -> None:
        """Commit one batch; on error the batch is put back so nothing is lost."""
        finished, self._finished = self._finished[: self.max_batch], self._finished[self.max_batch:]
        done = {f.id for f in finished}
        # A job that started and finished since the last flush needs only its final write.
        started = [s for s in self._started.values() if s.id not in done]
        self._started = {}
        released, self._released = self._released, []
        try:
            applied, fenced = await self.store.write_batch(started, finished, released)
        except BaseException:
            self._finished[:0] = finished
            self._started = {**{s.id: s for s in started}, **self._started}
            self._released[:0] = released
            raise
        self.flushes += 1
        self.finished_total += applied
        if fenced:
            JOBS_FENCED.inc(len(fenced))
            log.warning("results dropped: jobs were taken over", extra={
                "action": "fenced", "job_ids": sorted(fenced)})
