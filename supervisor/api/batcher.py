"""Group commit for job creation: concurrent creates share one INSERT and one commit."""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID, uuid4

import asyncpg

from supervisor.store.jobs import JobStore, NewJob

log = logging.getLogger("supervisor.api")
MAX_BATCH = 500
# INSERTs in flight at once: while one waits for its WAL flush the next batch is already being
# written, and PostgreSQL flushes both in one go.
WRITERS = 2


class CreateBatcher:
    """Queues creates while an INSERT is in flight, then writes them all in the next one.

    A lone request is written at once; under load each commit carries every request that
    arrived during the previous one. A caller is answered only after its row is committed.
    """

    def __init__(self, store: JobStore, max_batch: int = MAX_BATCH, writers: int = WRITERS) -> None:
        self.store = store
        self.max_batch = max_batch
        self.writers = writers
        self._pending: list[tuple[NewJob, asyncio.Future[None]]] = []
        self._flushers: set[asyncio.Task[None]] = set()
        self.batches = 0

    async def create(self, job_type: str, data: dict[str, object], retry_count: int,
                     retry_interval: int) -> UUID:
        """Insert one open job; its uuid once committed."""
        return await self.create_job(NewJob(uuid4(), job_type, data, retry_count, retry_interval))

    async def create_job(self, job: NewJob) -> UUID:
        """Insert one prepared open job (without a unique_key); its uuid once committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((job, done))
        if len(self._flushers) < self.writers:
            # Its own task, so a client hanging up cannot abandon the others' rows mid-write.
            task = asyncio.create_task(self._flush_all())
            self._flushers.add(task)
            task.add_done_callback(self._flushers.discard)
        await asyncio.shield(done)
        return job.uuid

    async def _flush_all(self) -> None:
        while self._pending:
            batch = self._pending[:self.max_batch]
            del self._pending[:self.max_batch]
            await self._write(batch)

    async def _write(self, batch: list[tuple[NewJob, asyncio.Future[None]]]) -> None:
        self.batches += 1
        try:
            await self.store.create_rows([job for job, _ in batch])
        except asyncpg.DataError as exc:
            if len(batch) > 1:
                # One row PostgreSQL cannot store must not fail its neighbours: write singly.
                for item in batch:
                    await self._write([item])
                return
            _settle(batch, exc)
        except Exception as exc:
            _settle(batch, exc)
        else:
            _settle(batch, None)


def _settle(batch: list[tuple[NewJob, asyncio.Future[None]]], exc: BaseException | None) -> None:
    for _, done in batch:
        if done.done():
            continue
        if exc is None:
            done.set_result(None)
        else:
            done.set_exception(exc)
