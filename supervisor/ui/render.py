"""Jinja2 rendering for the dashboard: autoescaped templates, time and JSON filters, headers."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script or style anywhere: scripts and styles come from /ui/static only.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
PREVIEW_CHARS = 1500  # JSON longer than this (or than PREVIEW_LINES) starts folded
PREVIEW_LINES = 30
SHOWN_CHARS = 100_000  # never send a page of megabytes: past this the text is cut


@dataclass(frozen=True)
class Folded:
    """A JSON value as text for a page: whether to fold it, and whether it was cut."""

    text: str
    size: int
    folded: bool
    cut: bool


def fold(value: Any) -> Folded:
    """Pretty JSON, marked folded when long and cut at SHOWN_CHARS."""
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False,
                                                           default=str)
    size = len(text)
    long = size > PREVIEW_CHARS or text.count("\n") > PREVIEW_LINES
    return Folded(text[:SHOWN_CHARS], size, long, size > SHOWN_CHARS)


def clip(value: Any, limit: int = 2000) -> str:
    """Text cut to `limit` characters, saying how much was left out."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


_TICKS = re.compile(r"`([^`]+)`")


def ticks(text: str) -> Markup:
    """Escaped text whose `backticked` parts (commands in messages) are shown as code."""
    return Markup(_TICKS.sub(r"<code>\1</code>", str(escape(text))))


def as_datetime(value: Any) -> datetime | None:
    """A datetime from a row value or an ISO string; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def relative(seconds: float) -> str:
    """'3 min ago' / 'in 2 h' for a signed age in seconds (positive: past)."""
    span = abs(seconds)
    if span < 5:
        return "just now"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min"), (1, "s")):
        if span >= size:
            amount = f"{int(span // size)} {unit}"
            break
    return f"{amount} ago" if seconds > 0 else f"in {amount}"


def ago(value: Any, now: datetime | None = None) -> str:
    """A time relative to now, or '-'."""
    when = as_datetime(value)
    if when is None:
        return "-"
    return relative(((now or datetime.now(UTC)) - when).total_seconds())


def exact(value: Any) -> str:
    """The exact UTC time, for hovering."""
    when = as_datetime(value)
    return "-" if when is None else when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(value: Any) -> str:
    """An ISO 8601 UTC time for <time datetime=...>."""
    when = as_datetime(value)
    return "" if when is None else when.astimezone(UTC).isoformat()


def seconds(value: Any) -> str:
    """A duration in seconds as '1.2 s', '3 min 4 s', or '-'."""
    if value is None:
        return "-"
    span = float(value)
    if span < 60:
        return f"{span:.1f} s" if span < 10 else f"{span:.0f} s"
    minutes, secs = divmod(int(span), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def make_environment(extra_packages: Sequence[str] = ()) -> Environment:
    """The template environment: ours, then each family's templates package."""
    loaders = [PackageLoader("supervisor.ui", "templates"),
               *(PackageLoader(p, "templates") for p in extra_packages)]
    env = Environment(loader=ChoiceLoader(loaders), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(ago=ago, exact=exact, iso=iso, fold=fold, seconds=seconds, clip=clip,
                       ticks=ticks)
    return env


def render(request: Request, template: str, status: int = 200,
           **context: Any) -> HTMLResponse:
    """Render a page with the nav, the session and its CSRF token in the context."""
    env: Environment = request.app.state.ui_env
    session = getattr(request.state, "ui_session", None)
    html = env.get_template(template).render(
        request=request, session=session, csrf=session.csrf if session else "",
        nav=request.app.state.ui_pages, path=request.url.path, **context)
    return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})


class SecurityHeaders:
    """Adds the CSP and friends to every dashboard response (/, /ui...); the API is untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, adding headers to dashboard responses."""
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == "/" or path == "/ui" or path.startswith("/ui/")):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)
