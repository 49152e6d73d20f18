"""The import's parse side: object bytes -> records -> batches, in a worker thread.

The thread pulls chunks from the event loop (the object store is async) and hands batches back
through a small memory stream, so parsing the next batch overlaps writing the last one.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
from anyio.from_thread import run as from_loop
from anyio.streams.buffered import BufferedByteReceiveStream
from anyio.streams.memory import MemoryObjectSendStream

from services.contacts.batch import Batch, Batcher
from services.contacts.mapping import Header, plan_header
from services.contacts.reader import Record, gunzip, records, skip_bytes
from services.shared.objects import ObjectStore

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


def record_stream(chunks: Iterator[bytes], gz: bool, pos: Position) -> Iterator[Record]:
    """The records of the object's bytes (read from `pos`; a gzip stream from its start)."""
    if gz:
        chunks = skip_bytes(gunzip(chunks), pos.offset)
    return records(chunks, offset=pos.offset, line=pos.line)


def header_of(recs: Iterator[Record], pos: Position) -> tuple[Header, list[str]]:
    """The header from the checkpoint, or the file's first record."""
    if pos.header is not None:
        return plan_header(pos.header), pos.header
    first = next(recs, None)
    if first is None:
        raise EmptyFile("it has no header row (the file is empty or blank)")
    if first.fields is None:
        raise EmptyFile(f"its header row cannot be read: {first.error}")
    return plan_header(first.fields), first.fields


class EmptyFile(ValueError):
    """The object has no usable header row."""


def parse(source: Source, gz: bool, pos: Position, batch_size: int,
          send: MemoryObjectSendStream[Any]) -> None:
    """Thread body: send Started, then each Batch, or Failed; return when done or refused."""
    try:
        recs = record_stream(_pull(source), gz, pos)
        header, names = header_of(recs, pos)
        from_loop(send.send, Started(header, names))
        for batch in Batcher(header, batch_size).batches(recs):
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


async def _in_thread(source: Source, gz: bool, pos: Position, batch_size: int,
                     send: MemoryObjectSendStream[Any]) -> None:
    await anyio.to_thread.run_sync(parse, source, gz, pos, batch_size, send)


async def _in_child(source: Source, gz: bool, pos: Position, batch_size: int,
                    send: MemoryObjectSendStream[Any]) -> None:
    """Feed the object's bytes to a parse_child process and pass its frames on."""
    args = json.dumps({"gz": gz, "offset": pos.offset, "line": pos.line,
                       "header": pos.header, "size": batch_size})
    try:
        await _run_child(source, args, send)
    except* (anyio.BrokenResourceError, anyio.ClosedResourceError):
        pass  # the writer stopped listening (it failed or the job is stopping)


async def _run_child(source: Source, args: str, send: MemoryObjectSendStream[Any]) -> None:
    async with send, await anyio.open_process(
            [sys.executable, "-m", "services.contacts.parse_child", args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None) as child:
        assert child.stdin is not None and child.stdout is not None
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_feed, source, child.stdin)
                frames = BufferedByteReceiveStream(child.stdout)
                while True:
                    try:
                        size = int.from_bytes(await frames.receive_exactly(8), "big")
                    except anyio.IncompleteRead:
                        break
                    await send.send(pickle.loads(await frames.receive_exactly(size)))
        finally:
            if child.returncode is None:
                child.kill()


async def _feed(source: Source, stdin: Any) -> None:
    try:
        while (chunk := await source.next()) is not None:
            await stdin.send(chunk)
    except (anyio.BrokenResourceError, BrokenPipeError):
        return  # the child ended early (a bad header): its frames say why
    finally:
        await stdin.aclose()


async def run(store: ObjectStore, key: str, bucket: str, *, gz: bool, pos: Position,
              batch_size: int, on_start: Callable[[Started, Source], Awaitable[None]],
              on_batch: Callable[[Batch], Awaitable[None]], in_process: bool = False) -> None:
    """Parse the object from `pos` in a thread (or a child process), awaiting the callbacks
    for each item here. An error of the parser or of a callback is raised as itself."""
    source = Source(store, key, bucket, 0 if gz else pos.offset)
    send, receive = anyio.create_memory_object_stream[Any](BATCHES_AHEAD)
    produce = _in_child if in_process else _in_thread
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(produce, source, gz, pos, batch_size, send)
            # closing `receive` on any exit makes the producer's pending send fail, so it ends
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
