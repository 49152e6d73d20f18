"""HTTP connection limits: header, body and keep-alive timeouts and a cap on connections.

uvicorn times out only idle keep-alive connections after a response; a client that connects and
sends nothing, or sends its headers or body a byte at a time, holds its socket forever. The
protocol below closes such connections, so slow clients cannot pile up until the API stops
answering.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


@dataclass(frozen=True)
class HttpLimits:
    """How long a client may take, and how many may be connected at once."""

    header_seconds: float = 10.0  # from connecting (or the request's first byte) to its headers
    body_seconds: float = 30.0  # from the headers to the last byte of the body
    keep_alive_seconds: int = 5  # an idle connection between requests
    max_connections: int = 1000  # beyond this, requests are answered 503 at once


LIMITS = HttpLimits()


def protocol_for(limits: HttpLimits) -> type[asyncio.Protocol]:
    """An HTTP protocol class enforcing `limits` (uvicorn builds one per connection)."""

    class Limited(_LimitedProtocol):
        header_seconds = limits.header_seconds
        body_seconds = limits.body_seconds

    return Limited


class _LimitedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with deadlines for the headers and the body."""

    header_seconds = LIMITS.header_seconds
    body_seconds = LIMITS.body_seconds

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        # Closing makes a request that is still reading its body see a disconnect.
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's headers."""
        super().connection_made(transport)
        self._arm(self.header_seconds)

    def on_message_begin(self) -> None:
        """A request started: its headers must arrive in time (an open deadline keeps going)."""
        super().on_message_begin()
        if self._deadline is None:
            self._arm(self.header_seconds)

    def on_headers_complete(self) -> None:
        """Headers in: now the body has its own deadline."""
        super().on_headers_complete()
        self._arm(self.body_seconds)

    def on_message_complete(self) -> None:
        """The whole request arrived; the app's time is not the client's."""
        super().on_message_complete()
        self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock."""
        self._disarm()
        super().connection_lost(exc)
