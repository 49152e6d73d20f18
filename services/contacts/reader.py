"""A CSV byte stream as records, each with its line number and the byte offset after it."""

from __future__ import annotations

import csv
import itertools
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

MAX_LINE = 1024 * 1024  # a longer physical line is a bad row, never a buffer that keeps growing
MAX_RAW = 64 * 1024  # how much of a bad row's text is kept for <key>.errors.csv
BOM = b"\xef\xbb\xbf"
csv.field_size_limit(MAX_LINE)


@dataclass(frozen=True, slots=True)
class Record:
    """One CSV record: fields, or the reason it is bad (then `raw` holds its text)."""

    line: int  # physical line the record starts on, 1 = the header
    end: int  # byte offset (of the decompressed stream) just after the record
    fields: list[str] | None
    error: str | None = None
    raw: str = ""


def gunzip(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Decompress a gzip stream on the fly (several members allowed, as `cat a.gz b.gz`)."""
    inflater = zlib.decompressobj(wbits=31)
    pending = False  # a member has begun and not ended
    for chunk in chunks:
        while chunk:
            pending = True
            out = inflater.decompress(chunk, MAX_LINE)
            while out:
                yield out
                out = inflater.decompress(inflater.unconsumed_tail, MAX_LINE)
            chunk = b""
            if inflater.eof:
                chunk, pending = inflater.unused_data, False
                inflater = zlib.decompressobj(wbits=31)
    if pending:
        raise zlib.error("the gzip stream ends early (a truncated file?)")


def skip_bytes(chunks: Iterable[bytes], count: int) -> Iterator[bytes]:
    """The stream without its first `count` bytes (a resumed .csv.gz re-reads up to there)."""
    for chunk in chunks:
        if count >= len(chunk):
            count -= len(chunk)
            continue
        yield chunk[count:] if count else chunk
        count = 0


class _Lines:
    """Decoded physical lines of a byte stream, counting bytes and flagging bad ones."""

    def __init__(self, chunks: Iterable[bytes], offset: int) -> None:
        self._chunks = chunks
        self.offset = offset  # bytes consumed up to the end of the last line handed out
        self.problem: str | None = None  # what was wrong with a line of the current record
        self._text: list[str] = []  # lines of the current record, for a bad row's `raw`
        self._kept = 0

    def _pieces(self) -> Iterator[tuple[bytes, bool]]:
        """(bytes, ends a line) pieces; a line over MAX_LINE comes out in cut pieces."""
        tail = b""
        for chunk in self._chunks:
            parts = (tail + chunk).split(b"\n") if tail else chunk.split(b"\n")
            tail = parts.pop()
            for part in parts:
                yield part, True
            if len(tail) > MAX_LINE:
                yield tail, False
                tail = b""
        if tail:
            yield tail, False

    def __iter__(self) -> Iterator[str]:
        skipping = False
        for part, ends in self._pieces():
            self.offset += len(part) + ends
            if skipping or len(part) > MAX_LINE:
                # an over-long line is consumed and counted but handed on as an empty line
                self.problem = f"line longer than {MAX_LINE} bytes"
                skipping = not ends
                if ends:
                    yield "\n"
                continue
            try:
                text = part.decode()
            except UnicodeDecodeError as exc:
                self.problem = f"bytes that are not UTF-8 ({exc.reason} at byte {exc.start})"
                text = part.decode(errors="replace")
            if self._kept < MAX_RAW:
                self._text.append(text)
                self._kept += len(text)
            yield text + "\n" if ends else text

    def take(self) -> tuple[str | None, str]:
        """The current record's problem and text; starts the next record."""
        problem, raw = self.problem, "\n".join(self._text).rstrip("\r")[:MAX_RAW]
        self.problem, self._text, self._kept = None, [], 0
        return problem, raw


def _peel_bom(chunks: Iterable[bytes]) -> tuple[Iterator[bytes], int]:
    """The stream without a leading UTF-8 byte order mark, and how many bytes were dropped."""
    it = iter(chunks)
    head = b""
    for chunk in it:
        head += chunk
        if len(head) >= len(BOM):
            break
    if head.startswith(BOM):
        return itertools.chain([head[len(BOM):]], it), len(BOM)
    return itertools.chain([head], it), 0


def records(chunks: Iterable[bytes], *, offset: int = 0, line: int = 0) -> Iterator[Record]:
    """Records of a CSV stream that starts at byte `offset` after physical line `line`.

    Blank lines are skipped; a malformed or undecodable record comes out with `error` set.
    """
    if offset == 0:
        chunks, offset = _peel_bom(chunks)
    lines = _Lines(chunks, offset)
    reader = csv.reader(lines)
    before = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            fields, lines.problem = None, lines.problem or f"malformed CSV: {exc}"
        problem, raw = lines.take()
        start, before = line + before + 1, reader.line_num
        if problem is not None:
            yield Record(start, lines.offset, None, problem, raw)
        elif fields:
            yield Record(start, lines.offset, fields)
