"""How long finished work is kept: JOB_RETENTION and the `--older-than` durations."""

from __future__ import annotations

import re
from datetime import timedelta

# What the pruner deletes, and how long each is kept unless JOB_RETENTION says otherwise.
DEFAULT_RETENTION: dict[str, timedelta | None] = {
    "completed": timedelta(days=7), "dead": timedelta(days=30), "cancelled": timedelta(days=30),
    "schedule_events": timedelta(days=30), "nodes": timedelta(days=7),
}
DEFAULT_TEXT = "completed=7d,dead=30d,cancelled=30d,schedule_events=30d,nodes=7d"
JOB_STATES = ("completed", "dead", "cancelled")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
MAX_DAYS = 36500


def parse_duration(text: str) -> timedelta:
    """'90s', '15m', '12h', '7d' or '2w' as a timedelta; ValueError saying the form otherwise."""
    match = _DURATION.match(text.lower())
    if not match:
        raise ValueError(f"{text!r} is not a duration; use a number and a unit, e.g. 90s, 15m, "
                         "12h, 7d or 2w")
    seconds = float(match[1]) * _UNITS[match[2]]
    if seconds <= 0 or seconds > MAX_DAYS * 86400:
        raise ValueError(f"{text!r} must be above 0 and at most {MAX_DAYS} days")
    return timedelta(seconds=seconds)


def parse_retention(text: str) -> dict[str, timedelta | None]:
    """JOB_RETENTION ('completed=7d,dead=30d,...'; 'off' keeps for ever) over the defaults."""
    out = dict(DEFAULT_RETENTION)
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if not sep or name not in out:
            raise ValueError(f"{part!r}: use NAME=DURATION with NAME one of "
                             f"{', '.join(DEFAULT_RETENTION)}, e.g. completed=7d")
        value = value.strip().lower()
        out[name] = None if value in ("off", "never", "forever") else parse_duration(value)
    return out
