"""supervisor.client on each driver an application may hold, against the real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest

from supervisor import client
from supervisor.config import Config
from supervisor.daemon import Daemon
from supervisor.store.jobs import JobStore
from tests.helpers import families_with, running_daemon

ASYNC_DRIVERS = ["asyncpg", "asyncpg-pool", "psycopg", "sqlalchemy+asyncpg", "sqlalchemy+psycopg"]
SYNC_DRIVERS = ["psycopg", "sqlalchemy+psycopg"]


def _url(dsn: str, driver: str) -> str:
    return dsn.replace("postgresql://", f"postgresql+{driver}://", 1)


@pytest.fixture(params=ASYNC_DRIVERS)
async def aconn(request: pytest.FixtureRequest, db_dsn: str) -> AsyncIterator[Any]:
    """An application's async connection of each kind, outside a transaction."""
    kind: str = request.param
    if kind == "asyncpg":
        conn = await asyncpg.connect(db_dsn)
        yield conn
        await conn.close()
    elif kind == "asyncpg-pool":
        pool = await asyncpg.create_pool(db_dsn, min_size=1, max_size=2)
        yield pool
        await pool.close()
    elif kind == "psycopg":
        import psycopg

        conn = await psycopg.AsyncConnection.connect(db_dsn, autocommit=True)
        yield conn
        await conn.close()
    else:
        from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

        engine = create_async_engine(_url(db_dsn, kind.split("+")[1]))
        async with AsyncSession(engine) as session:
            yield session
        await engine.dispose()


@pytest.fixture(params=SYNC_DRIVERS)
def sconn(request: pytest.FixtureRequest, db_dsn: str) -> Iterator[Any]:
    """An application's blocking connection of each kind."""
    if request.param == "psycopg":
        import psycopg

        with psycopg.connect(db_dsn, autocommit=True) as conn:
            yield conn
    else:
        from sqlalchemy import create_engine
        from sqlalchemy.orm import Session

        engine = create_engine(_url(db_dsn, "psycopg"))
        with Session(engine) as session:
            yield session
        engine.dispose()


async def _commit(conn: Any) -> None:
    if hasattr(conn, "commit") and not getattr(conn, "autocommit", False):
        await conn.commit()


async def test_get_cancel_retry_on_every_async_driver(aconn: Any, store: JobStore) -> None:
    job = await store.create("sleep", {"seconds": 30})
    got = await client.get(aconn, job["uuid"])
    assert got is not None and got["status"] == "open" and got["data"] == {"seconds": 30}
    assert await client.get(aconn, "00000000-0000-0000-0000-000000000000") is None
    cancelled = await client.cancel(aconn, str(job["uuid"]))
    assert cancelled is not None and cancelled["status"] == "cancelled"
    assert await client.cancel(aconn, job["uuid"]) is None  # already ended
    again = await client.retry(aconn, job["uuid"])
    assert again is not None and again["status"] == "open"
    await _commit(aconn)
    row = await store.get(job["uuid"])
    assert row is not None and row["status"] == "open"


def _sync_rows(conn: Any, sql: str) -> list[Any]:
    from sqlalchemy import text

    if hasattr(conn, "cursor"):  # psycopg
        return list(conn.execute(sql).fetchall())
    rows = list(conn.execute(text(sql)).fetchall())
    conn.commit()
    return rows


def test_get_cancel_retry_on_every_sync_driver(sconn: Any) -> None:
    uuid = _sync_rows(sconn, "INSERT INTO jobs (job_type, data) VALUES ('noop', '{\"k\": 1}')"
                             " RETURNING uuid")[0][0]
    got = client.get_sync(sconn, uuid)
    assert got is not None and got["data"] == {"k": 1} and got["status"] == "open"
    cancelled = client.cancel_sync(sconn, uuid)
    assert cancelled is not None and cancelled["status"] == "cancelled"
    again = client.retry_sync(sconn, uuid)
    assert again is not None and again["status"] == "open"
    with pytest.raises(TypeError, match=r"the \*_sync functions of supervisor\.client need"):
        client.get_sync(object(), uuid)


async def test_wait_wakes_when_the_daemon_finishes_the_job(
    aconn: Any, config: Config, store: JobStore,
) -> None:
    async with running_daemon(Daemon(config, families_with())):
        job = await store.create("sleep", {"seconds": 0.2})
        done = await client.wait(aconn, job["uuid"], timeout=20)
    assert done["status"] == "completed"
    assert done["job_response"] == {"messages": "slept 0.2s"}


async def test_a_connection_that_is_not_postgres_or_is_closed_is_named(db_dsn: str) -> None:
    with pytest.raises(TypeError, match="needs an asyncpg Connection or Pool"):
        await client.get(object(), "00000000-0000-0000-0000-000000000000")
    conn = await asyncpg.connect(db_dsn)
    await conn.close()
    with pytest.raises(ConnectionError, match="closed"):
        await client.get(conn, "00000000-0000-0000-0000-000000000000")
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    with Session(create_engine("sqlite://")) as session, pytest.raises(
            TypeError, match="sqlite database"):
        client.get_sync(session, "00000000-0000-0000-0000-000000000000")
