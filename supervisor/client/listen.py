"""LISTEN on an application's connection while `wait` looks at a job, for each driver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio

from supervisor.client.drivers import AsyncDriver


class Woken:
    """Set by a notification on one of the channels; `wait` returns early when it is."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.reader: Any = None  # psycopg: the connection whose notifies() must be read

    def set(self, *_: Any) -> None:
        """A notification arrived (any callback signature)."""
        self.event.set()

    def clear(self) -> None:
        """Forget earlier notifications before looking at the job again."""
        self.event.clear()

    async def wait(self, timeout: float) -> None:
        """Until a notification or `timeout` seconds."""
        if self.event.is_set():
            return
        if self.reader is None:
            with anyio.move_on_after(timeout):
                await self.event.wait()
            return
        # psycopg reads notifications only while someone reads the connection; those that
        # came during the last query were kept for this call.
        async for _ in self.reader.notifies(timeout=timeout, stop_after=1):
            self.event.set()


def _not_in_transaction(busy: bool) -> None:
    if busy:
        raise RuntimeError("supervisor.client.wait needs a connection outside a transaction "
                           "(LISTEN takes effect only at commit): commit first, or pass another")


@asynccontextmanager
async def _asyncpg(conn: Any, channels: Sequence[str]) -> AsyncIterator[Woken]:
    woken = Woken()
    if hasattr(conn, "acquire") and not hasattr(conn, "add_listener"):  # a Pool
        async with conn.acquire() as held, _asyncpg(held, channels) as inner:
            yield inner
        return
    _not_in_transaction(conn.is_in_transaction())
    for channel in channels:
        await conn.add_listener(channel, woken.set)
    try:
        yield woken
    finally:
        for channel in channels:
            await conn.remove_listener(channel, woken.set)


@asynccontextmanager
async def _psycopg(conn: Any, channels: Sequence[str]) -> AsyncIterator[Woken]:
    from psycopg import pq

    _not_in_transaction(conn.info.transaction_status != pq.TransactionStatus.IDLE)
    woken = Woken()
    woken.reader = conn
    for channel in channels:
        await conn.execute(f"LISTEN {channel}")
    if not conn.autocommit:
        await conn.commit()  # nothing else is in this transaction: it was idle
    try:
        yield woken
    finally:
        for channel in channels:
            await conn.execute(f"UNLISTEN {channel}")
        if not conn.autocommit:
            await conn.commit()


@asynccontextmanager
async def _sqlalchemy(conn: Any, channels: Sequence[str]) -> AsyncIterator[Woken]:
    # A session is always inside a transaction: listen on a connection of its own engine.
    engine = conn.bind if hasattr(conn, "bind") and conn.bind is not None else conn.engine
    async with engine.connect() as own:
        raw = await own.get_raw_connection()
        driver = raw.driver_connection
        kind = type(driver).__module__.split(".", 1)[0]
        inner = _asyncpg if kind == "asyncpg" else _psycopg
        async with inner(driver, channels) as woken:
            yield woken


@asynccontextmanager
async def listening(drv: AsyncDriver, channels: Sequence[str]) -> AsyncIterator[Woken]:
    """Notifications on `channels` for as long as the block runs."""
    opener = {"asyncpg": _asyncpg, "psycopg": _psycopg, "sqlalchemy": _sqlalchemy}[drv.kind]
    async with opener(drv.conn, channels) as woken:
        yield woken
