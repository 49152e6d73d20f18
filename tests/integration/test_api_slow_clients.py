"""A slow-client attack on the real HTTP server: idle and half-sent connections are closed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import asyncpg
import httpx
import pytest

from supervisor.api.limits import HttpLimits
from supervisor.api.service import ApiService
from supervisor.config import Config
from supervisor.store.api_keys import ApiKeyStore
from tests.integration.api_support import standalone

LIMITS = HttpLimits(header_seconds=0.5, body_seconds=0.5, keep_alive_seconds=1,
                    max_connections=40)
PARTIAL_HEADERS = b"POST /common/jobs/create HTTP/1.1\r\nHost: attacker\r\n"
CLOSE_WAIT = 20.0  # generous bound; the server closes them after about 0.5 s


@asynccontextmanager
async def serving(pool: asyncpg.Pool, config: Config) -> AsyncIterator[int]:
    """The api service on a free port with short limits; yields the port."""
    service = ApiService(standalone(pool, config), limits=LIMITS)
    stopping = asyncio.Event()
    async with anyio.create_task_group() as tg:
        await tg.start(service.run, stopping)
        assert service.port is not None
        yield service.port
        stopping.set()


async def _closed_by_server(reader: asyncio.StreamReader) -> bool:
    """True once the server closes the connection (within CLOSE_WAIT)."""
    with anyio.move_on_after(CLOSE_WAIT):
        try:
            while await reader.read(65536):
                pass  # a response (e.g. 503) may come first; the close is what counts
        except ConnectionError:
            pass
        return True
    return False


async def _attack(port: int, sends: list[bytes]) -> list[asyncio.StreamWriter]:
    writers = []
    readers = []
    for payload in sends:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        if payload:
            writer.write(payload)
            await writer.drain()
        readers.append(reader)
        writers.append(writer)
    closed = await asyncio.gather(*(_closed_by_server(r) for r in readers))
    assert all(closed), f"{closed.count(False)} of {len(closed)} slow connections stayed open"
    return writers


async def test_idle_and_half_sent_connections_are_closed(
    pool: asyncpg.Pool, config: Config,
) -> None:
    # 3x the connection limit: silent ones, ones stuck in their headers, one byte at a time.
    sends = [b""] * 40 + [PARTIAL_HEADERS] * 40 + [b"G"] * 40
    async with serving(pool, config) as port:
        writers = await _attack(port, sends)
        async with httpx.AsyncClient() as client:
            r = await client.get(f"http://127.0.0.1:{port}/healthz")
        for w in writers:
            w.close()
    assert r.status_code == 200


async def test_a_body_that_never_finishes_is_cut_off_quietly(
    pool: asyncpg.Pool, config: Config, caplog: pytest.LogCaptureFixture,
) -> None:
    key, _ = await ApiKeyStore(pool).create("slow")
    head = (f"POST /common/jobs/create HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"job_").encode()
    caplog.set_level(logging.INFO)
    async with serving(pool, config) as port:
        writers = await _attack(port, [head] * 5)
        for w in writers:
            w.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "api_client_gone" in {getattr(r, "action", None) for r in caplog.records}
    assert await pool.fetchval("SELECT count(*) FROM jobs") == 0


async def test_keep_alive_connections_are_closed_when_idle(
    pool: asyncpg.Pool, config: Config,
) -> None:
    async with serving(pool, config) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        first = await reader.readuntil(b"\r\n\r\n")
        assert first.startswith(b"HTTP/1.1 200")
        assert await _closed_by_server(reader)
        writer.close()
