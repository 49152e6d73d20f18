"""Text to tree for the condition language, with errors that name the column."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput
from lark.exceptions import VisitError

from services.cdp.segments.condition import tree as t
from services.cdp.segments.condition.times import parse_offset, parse_time

SOURCES = ("profile", "event", "session")
FUNCTIONS = ("now", "now.offset", "datetime", "datetime.offset", "lowercase")


class ConditionError(ValueError):
    """A condition that does not parse or names what it may not: the message and its column."""

    def __init__(self, message: str, column: int, text: str = "") -> None:
        super().__init__(f"column {column}: {message}")
        self.message = message
        self.column = column
        self.text = text

    def pointer(self) -> str:
        """The condition with a caret under the column, for a terminal."""
        return f"{self.text}\n{' ' * max(self.column - 1, 0)}^"


@lru_cache(maxsize=1)
def _lark() -> Lark:
    grammar = (Path(__file__).parent / "grammar.lark").read_text()
    return Lark(grammar, parser="lalr", maybe_placeholders=False)


def parse(text: str, sources: Iterable[str] = SOURCES) -> t.Condition:
    """The tree of a condition; ConditionError when it does not parse or reads a source not
    in `sources`."""
    if not text.strip():
        raise ConditionError("the condition is empty; write e.g. profile@traits.age > 18", 1, text)
    try:
        raw = _lark().parse(text)
        cond = _Build(text).transform(raw)
    except VisitError as exc:
        if isinstance(exc.orig_exc, ConditionError):
            raise exc.orig_exc from None
        raise
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text) from None
    allowed = set(sources)
    for f in t.fields(cond):
        if f.source not in allowed:
            names = ", ".join(f"{s}@" for s in sorted(allowed))
            raise ConditionError(f"unknown source '{f.source}@' here; use {names}", f.column, text)
    return cond  # type: ignore[no-any-return]


def _syntax_error(exc: UnexpectedInput, text: str) -> ConditionError:
    if isinstance(exc, UnexpectedEOF):
        return ConditionError("the condition ends too early", len(text) + 1, text)
    column = exc.column if isinstance(exc.column, int) and exc.column > 0 else 1
    if isinstance(exc, UnexpectedCharacters):
        return ConditionError(f"unexpected character {text[column - 1]!r}", column, text)
    token = getattr(exc, "token", None)
    if token is not None and token.type == "$END":
        return ConditionError("the condition ends too early", len(text) + 1, text)
    expected = sorted(getattr(exc, "expected", None) or ())
    hint = f" (expected one of: {', '.join(expected[:8])})" if expected else ""
    return ConditionError(f"unexpected {str(token)!r}{hint}", column, text)


def _column(tok: Any) -> int:
    return tok.column if isinstance(tok, Token) and tok.column is not None else 1


class _Build(Transformer[Token, Any]):
    """Lark's parse tree to the tree module's nodes."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def _fail(self, message: str, column: int) -> ConditionError:
        return ConditionError(message, column, self.text)

    def boolexpr(self, items: list[Any]) -> t.Condition:
        if len(items) == 1:
            return items[0]  # type: ignore[no-any-return]
        ops = items[1::2]
        first = ops[0].upper()
        for op in ops[1:]:
            if op.upper() != first:
                raise self._fail("AND and OR may not be mixed without parentheses; group them, "
                                 "e.g. (a AND b) OR c", _column(op))
        return t.BoolOp(first.lower(), tuple(items[0::2]))

    def compare(self, items: list[Any]) -> t.Condition:
        return t.Compare(str(items[1]), items[0], items[2])

    def contains(self, items: list[Any]) -> t.Condition:
        return t.Compare("contains", items[0], items[2])

    def starts_with(self, items: list[Any]) -> t.Condition:
        return t.Compare("starts_with", items[0], items[3])

    def ends_with(self, items: list[Any]) -> t.Condition:
        return t.Compare("ends_with", items[0], items[3])

    def between(self, items: list[Any]) -> t.Condition:
        return t.Between(items[0], items[2], items[4])

    def _check(self, op: str, items: list[Any]) -> t.Condition:
        return t.Check(op, items[0])

    def exists(self, items: list[Any]) -> t.Condition:
        return self._check("exists", items)

    def not_exists(self, items: list[Any]) -> t.Condition:
        return self._check("not_exists", items)

    def empty(self, items: list[Any]) -> t.Condition:
        return self._check("empty", items)

    def not_empty(self, items: list[Any]) -> t.Condition:
        return self._check("not_empty", items)

    def is_null(self, items: list[Any]) -> t.Condition:
        return self._check("is_null", items)

    def is_not_null(self, items: list[Any]) -> t.Condition:
        return self._check("is_not_null", items)

    def field(self, items: list[Token]) -> t.Operand:
        source, path = str(items[0]).split("@", 1)
        return t.Field(source.lower(), tuple(path.split(".")), _column(items[0]))

    def string(self, items: list[Token]) -> t.Operand:
        return t.Literal(self._unquote(items[0]))

    def number(self, items: list[Token]) -> t.Operand:
        value = Decimal(str(items[0]))
        if abs(value.adjusted()) > 1000:  # PostgreSQL's numeric (and common sense) end here
            raise self._fail(f"number {items[0]} is out of range (at most 1e1000)",
                             _column(items[0]))
        return t.Literal(value)

    def duration(self, items: list[Token]) -> t.Operand:
        offset = parse_offset(str(items[0]))
        assert offset is not None  # the token's pattern is a duration
        return t.Literal(Decimal(int(offset.total_seconds())))

    def true(self, items: list[Token]) -> t.Operand:
        return t.Literal(True)

    def false(self, items: list[Token]) -> t.Operand:
        return t.Literal(False)

    def null(self, items: list[Token]) -> t.Operand:
        return t.Literal(None)

    def array(self, items: list[t.Literal]) -> t.Operand:
        return t.Literal(tuple(item.value for item in items))

    def call(self, items: list[Any]) -> t.Operand:
        name, args = items[0], items[1:]
        key = str(name).lower()
        if key not in FUNCTIONS:
            raise self._fail(f"unknown function '{name}'; use one of {', '.join(FUNCTIONS)}",
                             _column(name))
        wants = {"now": 0, "now.offset": 1, "datetime": 1, "datetime.offset": 2, "lowercase": 1}
        if len(args) != wants[key]:
            raise self._fail(f"{key}() takes {wants[key]} argument(s), got {len(args)}",
                             _column(name))
        if key == "now":
            return t.Now(timedelta(0))
        if key == "now.offset":
            return t.Now(self._offset(args[0], name))
        if key == "lowercase":
            return t.Lower(args[0])
        offset = self._offset(args[1], name) if key == "datetime.offset" else timedelta(0)
        return self._datetime(args[0], offset, name)

    def _datetime(self, arg: t.Operand, offset: timedelta, name: Token) -> t.Operand:
        if isinstance(arg, t.Literal):
            if not isinstance(arg.value, str) or parse_time(arg.value) is None:
                raise self._fail(f"datetime() needs an ISO 8601 time such as "
                                 f"'2024-05-01T10:00:00Z', got {arg.value!r}", _column(name))
        return t.DateTimeOf(arg, offset)

    def _offset(self, arg: t.Operand, name: Token) -> timedelta:
        if isinstance(arg, t.Literal) and isinstance(arg.value, Decimal):
            return timedelta(seconds=int(arg.value))  # a duration literal such as 15m
        text = arg.value if isinstance(arg, t.Literal) and isinstance(arg.value, str) else None
        offset = parse_offset(text) if text is not None else None
        if offset is None:
            raise self._fail(f"{name}() needs an offset such as \"-15m\" (units s m h d w)",
                             _column(name))
        return offset

    def _unquote(self, tok: Token) -> str:
        raw = str(tok)
        body = raw[1:-1]
        if raw[0] == "'":  # single quotes: \' and \\ are the escapes; \" means "
            body = body.replace("\\'", "'").replace('"', '\\"')
        try:
            value = json.loads(f'"{body}"')
        except json.JSONDecodeError:
            raise self._fail("bad escape in string; use \\\" \\\\ \\n or \\uXXXX",
                             _column(tok)) from None
        assert isinstance(value, str)
        if "\x00" in value:  # PostgreSQL text cannot hold NUL
            raise self._fail("a string may not contain NUL (\\u0000)", _column(tok))
        return value
