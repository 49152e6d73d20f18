"""Shared fixtures: one database per test, cloned from a migrated template; Redis if present."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from supervisor.config import Config, load_config
from supervisor.store.db import create_pool
from supervisor.store.jobs import JobStore
from tests import pgtest


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """Admin DSN of the PostgreSQL the tests use."""
    dsn, server = pgtest.server_dsn()
    yield dsn
    if server is not None:
        server.cleanup()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def pg_template(pg_server: str) -> Iterator[str]:
    """Name of the migrated template database."""
    name = pgtest.create_template(pg_server)
    yield name
    pgtest.drop_database(pg_server, name, template=True)


@pytest.fixture
async def db_dsn(pg_server: str, pg_template: str) -> AsyncIterator[str]:
    """DSN of a database of this test's own."""
    name = await pgtest.clone(pg_server, pg_template)
    yield pgtest.with_database(pg_server, name)
    await pgtest.drop(pg_server, name)


@pytest.fixture
async def pool(db_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on this test's database."""
    p = await create_pool(db_dsn, min_size=1, max_size=8)
    yield p
    await p.close()


@pytest.fixture
def store(pool: asyncpg.Pool) -> JobStore:
    """The job store on this test's database."""
    return JobStore(pool)


def make_config(dsn: str, **values: Any) -> Config:
    """Settings for a test: no file, fast intervals, this test's database."""
    fast: dict[str, Any] = {
        "database_url": dsn, "job_worker_poll_ms": 200, "node_heartbeat_seconds": 0.2,
        "node_stale_seconds": 1.0, "rescue_interval_seconds": 0.2, "shutdown_grace_seconds": 2.0,
        "api_port": 0,  # a daemon's api service binds a free port, never a fixed one
    }
    return load_config(env={}, path=Path("/nonexistent/config.toml")).with_overrides(
        **{**fast, **values})


@pytest.fixture
def config(db_dsn: str) -> Config:
    """Fast test settings on this test's database."""
    return make_config(db_dsn)


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis: the local one, else a redis-server we start; skipped if neither exists."""
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    if _port_open(6379):
        yield "redis://127.0.0.1:6379/15"
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("Redis tests skipped: no Redis on 127.0.0.1:6379 and no redis-server binary")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    for _ in range(100):
        if _port_open(port):
            break
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)
