"""JSON values PostgreSQL's jsonb cannot hold, found before they reach the database."""

from __future__ import annotations

import math
from typing import Any

INT32_MAX = 2_147_483_647  # the largest value of the integer columns (retry_count, ...)


def unstorable(value: Any, path: str) -> tuple[str, str] | None:
    """(path, reason) of the first NUL character or non-finite number in `value`, or None."""
    if isinstance(value, str):
        return (path, "must not contain NUL characters (\\u0000)") if "\x00" in value else None
    if isinstance(value, float) and not math.isfinite(value):
        return path, f"must be a finite number (got {value!r}); JSON has no NaN or Infinity"
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in str(key):
                return path, "keys must not contain NUL characters (\\u0000)"
            if (found := unstorable(item, f"{path}.{key}")) is not None:
                return found
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            if (found := unstorable(item, f"{path}[{i}]")) is not None:
                return found
    return None
