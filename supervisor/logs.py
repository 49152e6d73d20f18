"""Structured logging on stdlib logging: JSON lines for machines, aligned text for people."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_BLANK = logging.LogRecord("", logging.INFO, "", 0, "", None, None)
_RECORD_ATTRS = frozenset(vars(_BLANK)) | {"message", "asctime"}
# Not shown: uvicorn repeats each message with terminal colours; the plain one is enough.
_HIDDEN = _RECORD_ATTRS | {"color_message"}
# Extras that lead the line, in this order, so related lines are easy to scan and grep.
_LEADING = ("action", "job")
# Keys the formatters own; an extra with one of these names is kept under `<name>_`.
_BASE_KEYS = frozenset({"time", "level", "service", "msg", "exc", "stack"})
_FORMATS = {"json": True, "plain": False}


class SafeLogger(logging.Logger):
    """A logger whose `extra=` cannot crash its caller by naming a LogRecord attribute.

    The standard logger raises KeyError for `extra={"created": ...}`; in a daemon that turns a
    log line into a crashed service. Such keys are kept under `<name>_` instead.
    """

    def makeRecord(
        self, name: str, level: int, fn: str, lno: int, msg: object, args: Any,
        exc_info: Any, func: str | None = None, extra: Mapping[str, object] | None = None,
        sinfo: str | None = None,
    ) -> logging.LogRecord:
        """Build the record with clashing extras renamed."""
        if extra:
            extra = {(f"{k}_" if k in _RECORD_ATTRS else k): v for k, v in extra.items()}
        return super().makeRecord(name, level, fn, lno, msg, args, exc_info, func, extra, sinfo)


# Every logger created after this import is safe; supervisor/__init__.py imports this module
# first, so all of ours are.
logging.setLoggerClass(SafeLogger)


def format_time(created: float) -> str:
    """ISO 8601 UTC with milliseconds, e.g. 2026-11-24T18:00:00.123Z."""
    stamp = datetime.fromtimestamp(created, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def service_name(logger_name: str) -> str:
    """The last dotted part of a logger name: supervisor.lanes.runner -> runner; uvicorn -> api."""
    if logger_name.startswith("uvicorn"):
        return "api"  # uvicorn.error and uvicorn.access are the HTTP server's own lines
    return logger_name.rsplit(".", 1)[-1]


def record_extras(record: logging.LogRecord) -> dict[str, Any]:
    """The `extra=` fields of a record, action and job first."""
    found = {k: v for k, v in vars(record).items() if k not in _HIDDEN}
    ordered = {k: found.pop(k) for k in _LEADING if k in found}
    ordered.update(found)
    return {(f"{k}_" if k in _BASE_KEYS else k): v for k, v in ordered.items()}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, service, action, job, msg, other extras."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as a single JSON line."""
        extras = record_extras(record)
        doc: dict[str, Any] = {
            "time": format_time(record.created),
            "level": record.levelname,
            "service": service_name(record.name),
        }
        doc.update({k: extras.pop(k) for k in _LEADING if k in extras})
        doc["msg"] = record.getMessage()
        doc.update(extras)
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            doc["exc"] = record.exc_text
        if record.stack_info:
            doc["stack"] = self.formatStack(record.stack_info)
        # default=str: a uuid, Path or datetime in extras must never make a log call fail.
        return json.dumps(doc, default=str, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    """Human lines: `<time> <LEVEL> <service>  <message> key=value ...` plus any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as one line, followed by the traceback if there is one."""
        parts = [
            f"{format_time(record.created)} {record.levelname:<5} "
            f"{service_name(record.name)}  {record.getMessage()}"
        ]
        parts += [f"{k}={_plain_value(v)}" for k, v in record_extras(record).items()]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        elif record.exc_text:
            line += "\n" + record.exc_text
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


def _plain_value(value: object) -> str:
    """A value as logfmt text, quoted only when a bare value would be ambiguous."""
    text = str(value)
    if not text or any(c.isspace() or c in '="' for c in text):
        return json.dumps(text, ensure_ascii=False)
    return text


class _SupervisorHandler(logging.StreamHandler[TextIO]):
    """Marks the handler configure_logging installed, so a second call replaces it."""


def _want_json(json_lines: bool | None, stream: TextIO) -> bool:
    """Explicit argument, then LOG_FORMAT, then JSON unless the stream is a terminal."""
    if json_lines is not None:
        return json_lines
    forced = os.environ.get("LOG_FORMAT", "").strip().lower()
    if forced in _FORMATS:
        return _FORMATS[forced]
    isatty = getattr(stream, "isatty", None)
    return not (callable(isatty) and isatty())


def configure_logging(
    level: str = "INFO", json_lines: bool | None = None, *, stream: TextIO | None = None
) -> None:
    """Send all logs to stderr (or `stream`) in one format; safe to call more than once."""
    target = sys.stderr if stream is None else stream
    handler = _SupervisorHandler(target)
    handler.setFormatter(JsonFormatter() if _want_json(json_lines, target) else PlainFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _SupervisorHandler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level.upper())
    forced = os.environ.get("LOG_FORMAT", "").strip().lower()
    if json_lines is None and forced and forced not in _FORMATS:
        logging.getLogger(__name__).warning(
            "ignoring unknown LOG_FORMAT", extra={"action": "configure", "value": forced}
        )
