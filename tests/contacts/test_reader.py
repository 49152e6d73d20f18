"""The CSV stream reader: dialect rules, BOM, line numbers, offsets, bad bytes, long lines."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator

import pytest

from services.contacts.reader import MAX_LINE, gunzip, records, skip_bytes


def chunked(data: bytes, size: int = 7) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


def test_quotes_embedded_newlines_bom_and_crlf() -> None:
    data = '\ufeffa,b\r\n"x, y","line1\nline2"\r\n\r\nplain,"q""uote"\r\n'.encode()
    got = list(records(chunked(data)))
    assert [(r.line, r.fields) for r in got] == [
        (1, ["a", "b"]), (2, ["x, y", "line1\nline2"]), (5, ["plain", 'q"uote'])]
    assert got[-1].end == len(data)


def test_offsets_let_a_reader_resume_where_it_stopped() -> None:
    data = b"h1,h2\n1,2\n3,4\n5,6\n"
    first = list(records(chunked(data)))
    resume_at = first[1]
    rest = list(records(chunked(data[resume_at.end:]), offset=resume_at.end,
                        line=resume_at.line))
    assert [(r.line, r.fields, r.end) for r in rest] == [
        (r.line, r.fields, r.end) for r in first[2:]]


def test_undecodable_bytes_make_a_bad_row_and_the_rest_is_read() -> None:
    data = b"a,b\n1,2\n\xff\xfe,3\n4,5\n"
    got = list(records(chunked(data, 3)))
    assert [r.line for r in got] == [1, 2, 3, 4]
    assert got[2].fields is None and got[2].error is not None and "UTF-8" in got[2].error
    assert got[3].fields == ["4", "5"]


def test_a_line_over_the_limit_is_a_bad_row_not_a_crash() -> None:
    data = b"a,b\n" + b"x" * (MAX_LINE + 10) + b",1\n7,8\n"
    got = list(records(chunked(data, 256 * 1024)))
    assert [(r.line, r.fields) for r in got] == [(1, ["a", "b"]), (2, None), (3, ["7", "8"])]
    assert got[1].error is not None and "longer than" in got[1].error
    assert got[-1].end == len(data)


def test_gzip_members_are_decompressed_on_the_fly() -> None:
    data = gzip.compress(b"a,b\n1,2\n") + gzip.compress(b"3,4\n")
    assert b"".join(gunzip(chunked(data, 5))) == b"a,b\n1,2\n3,4\n"
    with pytest.raises(zlib.error):
        list(gunzip([data[:-6]]))
    assert b"".join(skip_bytes(chunked(b"0123456789", 3), 4)) == b"456789"
