"""The `api` service: uvicorn serving the API inside the daemon, under the daemon's signals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskStatus

from supervisor.api.context import RuntimeLike
from supervisor.runtime.supervise import StartupFailure
from supervisor.runtime.waiting import wait_any
from supervisor.store.api_keys import ApiKeyStore, DuplicateKeyName

if TYPE_CHECKING:
    from supervisor.api.limits import HttpLimits

log = logging.getLogger("supervisor.api")
EX_CANNOT_LISTEN = 71  # sysexits.h EX_OSERR: the OS refused the listening socket
SHUTDOWN_SECONDS = 5  # open requests may finish this long after `stopping`
FIRST_KEY_NAME = "default"
FIRST_KEY_FILE = "first-api-key.txt"  # in DATA_DIR, when stderr is not a terminal


def _server_class() -> type[Any]:
    import uvicorn  # imported here: CLI commands that never serve HTTP skip its import cost

    class QuietServer(uvicorn.Server):
        """uvicorn without its own signal handling: the daemon owns SIGTERM and SIGINT."""

        def __init__(self, config: uvicorn.Config) -> None:
            super().__init__(config)
            self.bound = asyncio.Event()

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            self.bound.set()

    return QuietServer


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket; binding it ourselves turns a busy port into a plain OSError."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio sets TCP_NODELAY only on sockets that do, and without it
    # Nagle plus delayed ACKs add ~40 ms to every keep-alive response.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise StartupFailure(f"the api service cannot listen on {host}:{port} "
                             f"({exc.strerror}); set API_HOST / API_PORT, or leave the api "
                             "service out with --only", EX_CANNOT_LISTEN) from None
    return sock


def usage_hint(key: str, host: str, port: int) -> str:
    """How to use a key, as a curl command."""
    return (f"curl -H 'X-API-Key: {key}' -H 'Content-Type: application/json' "
            f"-d '{{\"job_type\": \"noop\", \"job_data\": {{}}}}' "
            f"http://{host}:{port}/common/jobs/create")


class ApiService:
    """Serves the HTTP API on API_HOST:API_PORT until `stopping`."""

    def __init__(self, runtime: RuntimeLike, limits: HttpLimits | None = None,
                 app: Any = None) -> None:
        self.runtime = runtime
        self.limits = limits
        self.app = app  # an app of the caller's (benchmarks); by default create_app(runtime)
        self.port: int | None = None  # the bound port (API_PORT=0 picks a free one)
        self.serving = asyncio.Event()  # set once requests are answered

    async def run(
        self, stopping: asyncio.Event, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Bind, report started, serve; on `stopping` finish open requests and return."""
        config = self.runtime.config
        sock = bind(config.api_host, config.api_port)
        self.port = sock.getsockname()[1]
        try:
            await ensure_first_key(self.runtime, self.port)
            server = self._server()
        except BaseException:
            sock.close()
            raise
        served = asyncio.Event()

        async def serve() -> None:
            try:
                await server.serve(sockets=[sock])
            finally:
                served.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(serve)
            await wait_any(server.bound, served)
            self._started(task_status)
            await wait_any(stopping, served)
            server.should_exit = True  # uvicorn notices within 0.1 s, then drains connections
        if not stopping.is_set():
            raise RuntimeError("the HTTP server stopped on its own")

    def _server(self) -> Any:
        import uvicorn

        from supervisor.api.app import create_app
        from supervisor.api.limits import LIMITS, protocol_for

        limits = self.limits or LIMITS
        return _server_class()(uvicorn.Config(
            self.app or create_app(self.runtime), lifespan="off", log_config=None,
            access_log=False,
            timeout_graceful_shutdown=SHUTDOWN_SECONDS, server_header=False,
            http=protocol_for(limits), timeout_keep_alive=limits.keep_alive_seconds,
            limit_concurrency=limits.max_connections,
        ))

    def _started(self, task_status: TaskStatus[None]) -> None:
        config = self.runtime.config
        log.info("serving the HTTP API", extra={
            "action": "api_start", "url": f"http://{config.api_host}:{self.port}",
            "docs": f"http://{config.api_host}:{self.port}/docs"})
        self.serving.set()
        task_status.started()


async def ensure_first_key(runtime: RuntimeLike, port: int | None = None) -> None:
    """On a database with no API key ever made, make one and hand it over once."""
    keys = ApiKeyStore(runtime.pool)
    if await keys.count() > 0:
        return
    try:
        key, row = await keys.create(FIRST_KEY_NAME)
    except DuplicateKeyName:
        return  # another process starting at the same moment made it
    config = runtime.config
    text = (f"Created the first API key, {FIRST_KEY_NAME!r}. It is shown only this once:\n\n"
            f"    {key}\n\nSend it in the X-API-Key header, for example:\n\n"
            f"    {usage_hint(key, config.api_host, port or config.api_port)}\n\n"
            "Manage keys with `supervisor apikey create|list|revoke`.\n")
    extra = {"action": "apikey_created", "key_name": FIRST_KEY_NAME, "prefix": row["prefix"]}
    if sys.stderr.isatty():
        sys.stderr.write(f"\n{text}\n")
        sys.stderr.flush()
        log.warning("created the first API key (printed once to the terminal)", extra=extra)
        return
    # Not a terminal: stderr is a log (journald, a container's), where a secret must not go.
    try:
        path = save_secret(Path(config.data_dir) / FIRST_KEY_FILE, text)
    except OSError as exc:
        log.error("created the first API key but could not save it; make another with "
                  "`supervisor apikey create NAME`", extra={**extra, "error": str(exc)})
        return
    log.warning(f"created the first API key; it is in {path} (readable only by this user): "
                "read it, store it safely, then delete the file", extra={**extra,
                                                                         "path": str(path)})


def save_secret(path: Path, text: str) -> Path:
    """Write `text` to `path` readable by its owner only (0600); the absolute path."""
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an older file keeps its mode on open; this one must be private
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    return path
