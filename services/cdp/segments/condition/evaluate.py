"""The Python evaluator: one condition on one record (the post-event path).

Its rules are the SQL compiler's (sql.py), so that a segment means the same in both:
- a missing field makes every comparison on it false (no error, no three-valued logic);
- `==`/`!=` compare JSON values (numbers by value, never a boolean with a number);
- `<`, `<=`, `>`, `>=` and BETWEEN compare two numbers, two strings (by code point) or two
  times, and are false for anything else;
- a time (now(), datetime()) meets a string by reading the string as ISO 8601;
- CONTAINS is a substring of a string or an element of an array; STARTS/ENDS WITH need strings;
- EXISTS means present and not null; EMPTY means missing, null, "", [] or {}.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from services.cdp.segments.condition import tree as t
from services.cdp.segments.condition.times import parse_time


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def evaluate(cond: t.Condition, record: Mapping[str, Any], now: datetime | None = None) -> bool:
    """Whether `cond` holds for `record` ({"profile": {...}, "event": {...}, ...})."""
    return _Eval(record, now or datetime.now(UTC)).cond(cond)


def lookup(doc: Any, path: tuple[str, ...]) -> Any:
    """The value at `path` in a JSON document, or MISSING."""
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            return MISSING
        doc = doc[key]
    return doc


def json_type(value: Any) -> str:
    """The JSON type name of a value, as jsonb_typeof() spells it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object"


def json_equal(a: Any, b: Any) -> bool:
    """jsonb equality: same type, numbers by value, arrays and objects member by member."""
    ta = json_type(a)
    if ta != json_type(b):
        return False
    if ta == "number":
        return t.number(a) == t.number(b)
    if ta == "array":
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if ta == "object":
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def _as_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    return parse_time(value) if isinstance(value, str) else None


class _Eval:
    def __init__(self, record: Mapping[str, Any], now: datetime) -> None:
        self.record = record
        self.now = now

    def cond(self, node: t.Condition) -> bool:
        if isinstance(node, t.BoolOp):
            join = all if node.op == "and" else any
            return join(self.cond(item) for item in node.items)  # stops early, left to right
        if isinstance(node, t.Check):
            return self.check(node.op, self.value(node.operand))
        if isinstance(node, t.Between):
            x = self.value(node.operand)
            return self.compare(">=", x, self.value(node.low)) and self.compare(
                "<=", x, self.value(node.high))
        return self.compare(node.op, self.value(node.left), self.value(node.right))

    def value(self, node: t.Operand) -> Any:
        if isinstance(node, t.Field):
            return lookup(self.record.get(node.source), node.path)
        if isinstance(node, t.Literal):
            return node.value
        if isinstance(node, t.Now):
            return self.now + node.offset
        if isinstance(node, t.Lower):
            arg = self.value(node.arg)
            return arg.lower() if isinstance(arg, str) else MISSING
        when = _as_time(self.value(node.arg))
        return MISSING if when is None else when + node.offset

    @staticmethod
    def check(op: str, x: Any) -> bool:
        if op in ("exists", "is_not_null"):
            return x is not MISSING and x is not None
        if op in ("not_exists", "is_null"):
            return x is MISSING or x is None
        empty = x is MISSING or x is None or (
            isinstance(x, str | list | tuple | dict) and not isinstance(x, bool) and len(x) == 0)
        return empty if op == "empty" else not empty

    @staticmethod
    def compare(op: str, a: Any, b: Any) -> bool:
        if a is MISSING or b is MISSING:
            return False
        if isinstance(a, datetime) or isinstance(b, datetime):
            ta, tb = _as_time(a), _as_time(b)
            if ta is None or tb is None or op in t.STRING_OPS:
                return False
            return _time_compare(op, ta, tb)
        if op == "==":
            return json_equal(a, b)
        if op == "!=":
            return not json_equal(a, b)
        if op in _ORDER:
            return _order(op, a, b)
        return _string_op(op, a, b)


def _time_compare(op: str, a: datetime, b: datetime) -> bool:
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    return _ORDER[op](a, b)


def _order(op: str, a: Any, b: Any) -> bool:
    ta, tb = json_type(a), json_type(b)
    if ta == tb == "number":
        return _ORDER[op](t.number(a), t.number(b))
    if ta == tb == "string":
        return _ORDER[op](a, b)
    return False


def _string_op(op: str, a: Any, b: Any) -> bool:
    if op == "contains" and json_type(a) == "array":
        return json_type(b) not in ("array", "object") and any(json_equal(e, b) for e in a)
    if not (isinstance(a, str) and isinstance(b, str)):
        return False
    if op == "contains":
        return b in a
    return a.startswith(b) if op == "starts_with" else a.endswith(b)
