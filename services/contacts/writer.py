"""The import's write side: two batches in flight on two connections, committed in order.

A batch's transaction has two halves: loading (BEGIN, the COPYs into the session's temp tables,
its bad rows) and applying (the upsert, COMMIT). Loading takes no lock on companies, contacts or
filters_data, so batch N+1 is loaded on the second connection while batch N is applied on the
first; batch N+1 is applied only after batch N has committed and its checkpoint is saved. Each
batch stays one transaction, the commits stay in file order (a checkpoint never points past an
uncommitted batch), and the round trips of loading no longer wait behind those of applying.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import anyio
import asyncpg
from asyncpg.transaction import Transaction

from services.contacts.batch import Batch
from services.contacts.store import Conn, ImportStore

# What PostgreSQL says about a value it cannot store (bad data, not a broken connection).
REFUSED = (asyncpg.DataError, asyncpg.ProgramLimitExceededError,
           asyncpg.IntegrityConstraintViolationError)
SPARE_WAIT = 1.0  # seconds to wait for a second connection before writing on one alone
# Companies committed by this import, remembered so a later batch does not send an unchanged
# one again (every contact row carries its company, so most batches repeat earlier companies);
# bounded, then forgotten, so memory stays flat.
COMMITTED_CAP = 20_000


@dataclass
class Loaded:
    """A batch whose transaction is open with its rows loaded (or whose loading was refused)."""

    store: ImportStore
    batch: Batch
    tr: Transaction | None
    refused: Exception | None = None
    applied: bool = False  # committed whole (not salvaged line by line)


@contextlib.asynccontextmanager
async def spare_connection(db: Any) -> AsyncIterator[Conn | None]:
    """A second connection of the job pool, or None when the pool has none free soon."""
    try:
        conn = await db.acquire(timeout=SPARE_WAIT)
    except TimeoutError:
        yield None
        return
    try:
        yield conn
    finally:
        await db.release(conn)


class Writer:
    """Takes batches in file order; keeps the last one loaded while the one before commits."""

    def __init__(self, job: uuid.UUID, stores: list[ImportStore],
                 complete: Callable[[Loaded], Coroutine[Any, Any, None]]) -> None:
        self.job = job
        self.stores = stores
        self.complete = complete
        self.loaded: Loaded | None = None
        self.committed: dict[uuid.UUID, tuple[Any, ...]] = {}

    async def _load(self, store: ImportStore, batch: Batch) -> Loaded:
        try:
            return Loaded(store, batch, await store.load(self.job, batch, self.committed))
        except REFUSED as exc:  # its bad rows, say: the batch is salvaged line by line
            return Loaded(store, batch, None, exc)

    async def _complete(self, loaded: Loaded) -> None:
        await self.complete(loaded)
        if loaded.applied:
            if len(self.committed) + len(loaded.batch.companies) > COMMITTED_CAP:
                self.committed.clear()
            self.committed.update(loaded.batch.companies)

    async def each(self, batch: Batch) -> None:
        """Load `batch` while the previous one is applied and committed."""
        prev, self.loaded = self.loaded, None
        if prev is None or len(self.stores) == 1:
            if prev is not None:
                await self._complete(prev)
            self.loaded = await self._load(self.stores[0], batch)
            return
        store = next(s for s in self.stores if s is not prev.store)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._complete, prev)
                self.loaded = await self._load(store, batch)
        except BaseExceptionGroup as group:  # the first failure, as itself (retries judge it)
            raise group.exceptions[0] from None

    async def drain(self) -> None:
        """Apply and commit the last loaded batch."""
        prev, self.loaded = self.loaded, None
        if prev is not None:
            await self._complete(prev)

    async def discard(self) -> None:
        """Roll back a loaded batch that will not be applied (the import failed or stops)."""
        prev, self.loaded = self.loaded, None
        if prev is not None and prev.tr is not None:
            await prev.store.rollback(prev.tr)
