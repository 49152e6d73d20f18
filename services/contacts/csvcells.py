"""CSV text of exported values when Python formats them (Elasticsearch rows, headers)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
LIST_SEPARATOR = ","  # the import splits list cells on commas and trims each part


def neutralise(text: str) -> str:
    """A cell a spreadsheet would run as a formula, prefixed with a quote so it is text."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def cell_text(value: Any, *, formulas_off: bool) -> str:
    """One value as its cell: lists comma-joined, times ISO 8601 UTC, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return str(value)  # numbers are never formulas, even negative ones
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, list):
        text = LIST_SEPARATOR.join(str(v) for v in value)
    else:
        text = str(value)
    return neutralise(text) if formulas_off else text


def csv_line(cells: Sequence[str]) -> str:
    """One CSV record (RFC 4180 quoting, CRLF), as the csv module writes it."""
    buf = io.StringIO()
    csv.writer(buf).writerow(cells)
    return buf.getvalue()
