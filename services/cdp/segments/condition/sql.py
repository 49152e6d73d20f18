"""The SQL compiler: one condition as a boolean expression over JSONB documents.

Every value from the condition travels as a bind parameter ($n); the SQL text holds only
operators, casts and the column expressions the caller names. The rules are evaluate.py's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from services.cdp.segments.condition import tree as t
from services.cdp.segments.condition.times import parse_time

_SQL_OP = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


@dataclass
class Compiled:
    """A boolean SQL expression and the values of its parameters, in order."""

    sql: str
    params: list[Any] = field(default_factory=list)


def compile_sql(cond: t.Condition, columns: Mapping[str, str], now: datetime,
                first_param: int = 1) -> Compiled:
    """`cond` as SQL, each source read from the JSONB column expression `columns[source]`."""
    comp = _Compiler(columns, now, first_param)
    return Compiled(comp.cond(cond), comp.params)


def _json_text(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ",".join(_json_text(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value)


class _Compiler:
    def __init__(self, columns: Mapping[str, str], now: datetime, first: int) -> None:
        self.columns = columns
        self.now = now
        self.first = first
        self.params: list[Any] = []
        self._paths: dict[tuple[str, tuple[str, ...]], str] = {}

    def param(self, value: Any, cast: str) -> str:
        self.params.append(value)
        return f"${self.first + len(self.params) - 1}::{cast}"

    # conditions

    def cond(self, node: t.Condition) -> str:
        if isinstance(node, t.BoolOp):
            return "(" + f" {node.op.upper()} ".join(self.cond(i) for i in node.items) + ")"
        if isinstance(node, t.Check):
            return self.check(node.op, node.operand)
        if isinstance(node, t.Between):
            low = self.compare(">=", node.operand, node.low)
            return f"({low} AND {self.compare('<=', node.operand, node.high)})"
        return self.compare(node.op, node.left, node.right)

    def check(self, op: str, x: t.Operand) -> str:
        wants_value = op in ("exists", "is_not_null", "not_empty")
        if _is_time(x):  # a time is there or not; when there it is not empty
            return f"(({self.ts(x)}) IS {'NOT ' if wants_value else ''}NULL)"
        j = self.json(x)
        if op in ("empty", "not_empty"):
            found = f"{j} IN ('null'::jsonb, '\"\"'::jsonb, '[]'::jsonb, '{{}}'::jsonb)"
            return f"NOT COALESCE({found}, true)" if wants_value else f"COALESCE({found}, true)"
        present = f"COALESCE(jsonb_typeof({j}) <> 'null', false)"
        return present if wants_value else f"NOT {present}"

    def compare(self, op: str, a: t.Operand, b: t.Operand) -> str:
        if _is_time(a) or _is_time(b):
            if op in t.STRING_OPS:
                return "false"
            return f"COALESCE({self.ts(a)} {_SQL_OP[op]} {self.ts(b)}, false)"
        if op in ("==", "!="):
            return f"COALESCE({self.json(a)} {_SQL_OP[op]} {self.json(b)}, false)"
        if op in t.ORDERING:
            return self.typed([
                ("number", a, b, lambda: f"{self.num(a)} {op} {self.num(b)}"),
                ("string", a, b, lambda: f"{self.text(a)} COLLATE \"C\" {op} {self.text(b)}"),
            ])
        if op == "starts_with":
            expr = lambda: f"starts_with({self.text(a)}, {self.text(b)})"  # noqa: E731
        elif op == "ends_with":
            expr = lambda: f"right({self.text(a)}, length({self.text(b)})) = {self.text(b)}"  # noqa: E731
        else:
            expr = lambda: f"strpos({self.text(a)}, {self.text(b)}) > 0"  # noqa: E731
        branches = [("string", a, b, expr)]
        if op == "contains":
            branches.insert(0, ("array", a, b, lambda: self.member(a, b)))
        return self.typed(branches)

    def member(self, a: t.Operand, b: t.Operand) -> str:
        # @> on arrays is containment, which for a scalar element is membership.
        return f"{self.json(a)} @> jsonb_build_array({self.json(b)})"

    def typed(self, branches: list[tuple[str, t.Operand, t.Operand, Any]]) -> str:
        """CASE over the JSON types both operands must have, decided statically for literals."""
        whens = []
        for kind, a, b, expr in branches:
            pairs = [(a, kind), (b, "scalar" if kind == "array" else kind)]
            # Literal guards first: a branch they rule out must not allocate parameters.
            if any(isinstance(x, t.Literal) and self.guard(x, k) == "false" for x, k in pairs):
                continue
            guards = [self.guard(x, k) for x, k in pairs]
            test = " AND ".join(g for g in guards if g != "true") or "true"
            whens.append(f"WHEN {test} THEN {expr()}")
        return f"(CASE {' '.join(whens)} ELSE false END)" if whens else "false"

    def guard(self, x: t.Operand, kind: str) -> str:
        if isinstance(x, t.Literal):
            jt = _literal_type(x.value)
            ok = jt not in ("array", "object") if kind == "scalar" else jt == kind
            return "true" if ok else "false"
        if kind == "scalar":
            return f"jsonb_typeof({self.json(x)}) NOT IN ('array', 'object')"
        return f"jsonb_typeof({self.json(x)}) = '{kind}'"

    # operands

    def json(self, x: t.Operand) -> str:
        if isinstance(x, t.Field):
            return self.field(x)
        if isinstance(x, t.Literal):
            return self.param(_json_text(x.value), "text") + "::jsonb"
        assert isinstance(x, t.Lower)
        if isinstance(x.arg, t.Literal):
            value = x.arg.value.lower() if isinstance(x.arg.value, str) else None
            if value is None:
                return "NULL::jsonb"
            return self.param(json.dumps(value), "text") + "::jsonb"
        if _is_time(x.arg):
            return "NULL::jsonb"
        j = self.json(x.arg)
        return f"(CASE WHEN jsonb_typeof({j}) = 'string' THEN to_jsonb(lower({j} #>> '{{}}')) END)"

    def field(self, x: t.Field) -> str:
        if x.source not in self.columns:
            raise ValueError(f"no column for source {x.source}@ in this query")
        key = (x.source, x.path)
        if key not in self._paths:
            self._paths[key] = self.param(list(x.path), "text[]")
        return f"({self.columns[x.source]} #> {self._paths[key]})"

    def num(self, x: t.Operand) -> str:
        if isinstance(x, t.Literal):
            return self.param(t.number(x.value), "numeric")
        return f"({self.json(x)})::numeric"

    def text(self, x: t.Operand) -> str:
        if isinstance(x, t.Literal):
            return self.param(x.value, "text")
        return f"({self.json(x)} #>> '{{}}')"

    def ts(self, x: t.Operand) -> str:
        if isinstance(x, t.Now):
            return self.param(self.now + x.offset, "timestamptz")
        if isinstance(x, t.DateTimeOf):
            if isinstance(x.arg, t.Literal):
                when = parse_time(x.arg.value) if isinstance(x.arg.value, str) else None
                return "NULL::timestamptz" if when is None else self.param(
                    when + x.offset, "timestamptz")
            return f"({self.ts(x.arg)} + {self.param(x.offset, 'interval')})"
        if isinstance(x, t.Literal):
            when = parse_time(x.value) if isinstance(x.value, str) else None
            return "NULL::timestamptz" if when is None else self.param(when, "timestamptz")
        return f"cdp_segment_ts({self.json(x)})"


def _is_time(x: t.Operand) -> bool:
    return isinstance(x, t.Now | t.DateTimeOf)


def _literal_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array"
