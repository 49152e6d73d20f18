"""The parsed form of a condition: operands and predicates, shared by both evaluators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

# Comparison and string operators as the tree spells them.
ORDERING = ("<", "<=", ">", ">=")
COMPARISONS = ("==", "!=", *ORDERING)
STRING_OPS = ("contains", "starts_with", "ends_with")
# Checks on one operand.
CHECKS = ("exists", "not_exists", "empty", "not_empty", "is_null", "is_not_null")


@dataclass(frozen=True)
class Field:
    """A value read from a record: `profile@traits.age` is source 'profile', path (traits, age)."""

    source: str
    path: tuple[str, ...]
    column: int


@dataclass(frozen=True)
class Literal:
    """A constant: None, bool, Decimal, str or a tuple of literals (an array)."""

    value: Any


@dataclass(frozen=True)
class Now:
    """`now()` or `now.offset("-15m")`: the evaluation time moved by an offset."""

    offset: timedelta


@dataclass(frozen=True)
class DateTimeOf:
    """`datetime(x)` or `datetime.offset(x, "1d")`: x read as an ISO 8601 time, then moved."""

    arg: Operand
    offset: timedelta


@dataclass(frozen=True)
class Lower:
    """`lowercase(x)`: x lower-cased when it is a string."""

    arg: Operand


Operand = Field | Literal | Now | DateTimeOf | Lower


@dataclass(frozen=True)
class Compare:
    """`left op right` for op in COMPARISONS or STRING_OPS."""

    op: str
    left: Operand
    right: Operand


@dataclass(frozen=True)
class Between:
    """`x BETWEEN low AND high`, both ends included."""

    operand: Operand
    low: Operand
    high: Operand


@dataclass(frozen=True)
class Check:
    """`x EXISTS`, `x EMPTY`, `x IS NULL` and their negations (op in CHECKS)."""

    op: str
    operand: Operand


@dataclass(frozen=True)
class BoolOp:
    """Two or more conditions joined by one kind of operator ('and' or 'or')."""

    op: str
    items: tuple[Condition, ...]


Condition = Compare | Between | Check | BoolOp


def fields(node: Condition | Operand) -> list[Field]:
    """Every field the tree reads, left to right."""
    if isinstance(node, Field):
        return [node]
    if isinstance(node, DateTimeOf | Lower):
        return fields(node.arg)
    if isinstance(node, Compare):
        return fields(node.left) + fields(node.right)
    if isinstance(node, Between):
        return fields(node.operand) + fields(node.low) + fields(node.high)
    if isinstance(node, Check):
        return fields(node.operand)
    if isinstance(node, BoolOp):
        return [f for item in node.items for f in fields(item)]
    return []


def number(value: Any) -> Decimal:
    """A JSON number as the exact decimal its JSON text spells (PostgreSQL's numeric)."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
