"""Durations and ISO 8601 times, read the same way in Python as the SQL function does."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
OFFSET_RE = re.compile(r"^([+-]?)([0-9]+)([smhdw])$")

# The times both evaluators accept; anything else is not a time (a comparison with it is false).
# Kept in step with cdp_segment_ts() in migrations/0100_condition_functions.sql.
TIME_RE = re.compile(  # used with fullmatch: "$" would also accept a trailing newline
    r"[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"(Z|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)?)?"
)


def parse_offset(text: str) -> timedelta | None:
    """'-15m' as a timedelta; None when it is not a duration."""
    m = OFFSET_RE.match(text.strip())
    if m is None:
        return None
    seconds = int(m.group(2)) * UNIT_SECONDS[m.group(3)]
    return timedelta(seconds=-seconds if m.group(1) == "-" else seconds)


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 string as an aware datetime (naive means UTC); None when it is not one."""
    if TIME_RE.fullmatch(text) is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:  # a day the month does not have
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
