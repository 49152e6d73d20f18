"""The import's parse side: object bytes -> records -> batches, in a worker thread.

The thread pulls chunks from the event loop (the object store is async) and hands batches back
through a small memory stream, so parsing the next batch overlaps writing the last one.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
from anyio.from_thread import run as from_loop
from anyio.streams.memory import MemoryObjectSendStream

from services.contacts.batch import Batch, Batcher
from services.contacts.mapping import Header, plan_header
from services.contacts.reader import Record, gunzip, records, skip_bytes
from services.shared.objects import ObjectStore

YIELD_EVERY = 32  # records between pauses of the parser thread (see _yielding)
YIELD_SECONDS = 0.00005
BATCHES_AHEAD = 2  # parsed batches waiting for the writer: bounds memory, keeps both busy


@dataclass
class Position:
    """Where a (resumed) import starts: byte offset and line after the last committed batch."""

    offset: int = 0
    line: int = 0
    header: list[str] | None = None


@dataclass(frozen=True)
class Started:
    """The first item the parser sends: the header it uses."""

    header: Header
    names: list[str]


@dataclass(frozen=True)
class Failed:
    """The parser stopped on an error; the writer raises it."""

    error: BaseException


class Source:
    """The object's bytes as an async stream, counting what was read (for progress)."""

    def __init__(self, store: ObjectStore, key: str, bucket: str, start: int) -> None:
        self.read = start
        self._chunks = store.read(key, bucket=bucket, start=start)

    async def next(self) -> bytes | None:
        """The next chunk, or None at the end."""
        try:
            chunk = await anext(self._chunks)
        except StopAsyncIteration:
            return None
        self.read += len(chunk)
        return chunk

    async def close(self) -> None:
        """Release the object's stream."""
        await self._chunks.aclose()  # type: ignore[attr-defined]


def _pull(source: Source) -> Iterator[bytes]:
    while (chunk := from_loop(source.next)) is not None:
        yield chunk


def _records(source: Source, gz: bool, pos: Position) -> Iterator[Record]:
    chunks: Iterator[bytes] = _pull(source)
    if gz:
        chunks = skip_bytes(gunzip(chunks), pos.offset)
    return records(chunks, offset=pos.offset, line=pos.line)


def _header(recs: Iterator[Record], pos: Position) -> tuple[Header, list[str]]:
    """The header from the checkpoint, or the file's first record."""
    if pos.header is not None:
        return plan_header(pos.header), pos.header
    first = next(recs, None)
    if first is None:
        raise EmptyFile("it has no header row (the file is empty or blank)")
    if first.fields is None:
        raise EmptyFile(f"its header row cannot be read: {first.error}")
    return plan_header(first.fields), first.fields


def _yielding(recs: Iterator[Record]) -> Iterator[Record]:
    """The records, pausing the thread briefly every few of them.

    The event loop's thread (writing the last batch) needs the GIL at each database round
    trip; without a pause it waits for the interpreter's switch interval (5 ms) every time,
    which made a batch's writes take several times longer than the database did.
    """
    for n, rec in enumerate(recs):
        if n % YIELD_EVERY == 0:
            time.sleep(YIELD_SECONDS)
        yield rec


class EmptyFile(ValueError):
    """The object has no usable header row."""


def parse(source: Source, gz: bool, pos: Position, batch_size: int,
          send: MemoryObjectSendStream[Any]) -> None:
    """Thread body: send Started, then each Batch, or Failed; return when done or refused."""
    try:
        recs = _records(source, gz, pos)
        header, names = _header(recs, pos)
        from_loop(send.send, Started(header, names))
        for batch in Batcher(header, batch_size).batches(_yielding(recs)):
            from_loop(send.send, batch)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        return  # the writer stopped listening (it failed or the job is stopping)
    except Exception as exc:
        try:
            from_loop(send.send, Failed(exc))
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return
    finally:
        from_loop(send.aclose)


async def run(store: ObjectStore, key: str, bucket: str, *, gz: bool, pos: Position,
              batch_size: int, on_start: Callable[[Started, Source], Awaitable[None]],
              on_batch: Callable[[Batch], Awaitable[None]]) -> None:
    """Parse the object from `pos` in a thread, awaiting the callbacks for each item here.

    An error of the parser or of a callback is raised as itself (not an exception group).
    """
    source = Source(store, key, bucket, 0 if gz else pos.offset)
    send, receive = anyio.create_memory_object_stream[Any](BATCHES_AHEAD)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(anyio.to_thread.run_sync, parse, source, gz, pos, batch_size, send)
            # closing `receive` on any exit makes the thread's pending send fail, so it ends
            async with receive:
                async for item in receive:
                    if isinstance(item, Failed):
                        raise item.error
                    if isinstance(item, Started):
                        await on_start(item, source)
                    else:
                        await on_batch(item)
    except BaseExceptionGroup as group:
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
    finally:
        await source.close()
