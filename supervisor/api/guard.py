"""ASGI middleware: a request body size limit (413) and a last-resort 500 in our error shape."""

from __future__ import annotations

import json
import logging

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("supervisor.api")


class _TooLarge(Exception):
    """The body grew past the limit while being read."""


class Guard:
    """Refuses bodies over `max_body` bytes and answers unexpected errors without leaking them."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request within the limits."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body:
            await self._send_error(send, 413, self._too_large())
            return
        started = False
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                raise _TooLarge  # chunked bodies have no content-length to check up front
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if not started:
                await self._send_error(send, 413, self._too_large())
        except ClientDisconnect:
            # The client hung up (or was too slow) before its body arrived: nobody to answer.
            log.info("client went away before sending its whole request", extra={
                "action": "api_client_gone", "path": scope.get("path", "")})
        except Exception:
            log.exception("request failed", extra={"action": "api_error",
                                                   "path": scope.get("path", "")})
            if not started:
                await self._send_error(send, 500, "ERR_INTERNAL: the server failed to handle "
                                       "this request; it has been logged")

    def _too_large(self) -> str:
        return (f"ERR_BODY_TOO_LARGE: the request body is over {self.max_body} bytes; send "
                "smaller job data (store big inputs in S3 and pass their key)")

    @staticmethod
    async def _send_error(send: Send, status: int, message: str) -> None:
        body = json.dumps({"error": message, "success": False}).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
