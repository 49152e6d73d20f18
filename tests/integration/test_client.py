"""supervisor.client on each driver an application may hold, against the real PostgreSQL."""

from __future__ import annotations

import asyncio
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


class Rollback(Exception):
    """Raised inside a transaction to roll it back."""


def _transaction(conn: Any) -> Any:
    """The application's own transaction on each kind of connection."""
    if hasattr(conn, "begin") and not hasattr(conn, "fetch"):  # SQLAlchemy
        return conn.begin()
    if hasattr(conn, "acquire"):  # an asyncpg pool has no transaction of its own
        pytest.skip("an asyncpg Pool has no transaction of its own; pass a connection")
    return conn.transaction()


async def _notified(db_dsn: str) -> tuple[asyncpg.Connection, list[str]]:
    listener = await asyncpg.connect(db_dsn)
    heard: list[str] = []
    await listener.add_listener("supervisor_jobs", lambda *a: heard.append(a[3]))
    return listener, heard


async def test_enqueue_commits_with_the_callers_transaction_or_not_at_all(
    aconn: Any, db_dsn: str, pool: asyncpg.Pool,
) -> None:
    listener, heard = await _notified(db_dsn)
    with pytest.raises(Rollback):
        async with _transaction(aconn):
            await client.enqueue(aconn, "noop", {"order": 1})
            raise Rollback
    await asyncio.sleep(0.3)  # a notification would have arrived by now: it is local
    assert await pool.fetchval("SELECT count(*) FROM jobs") == 0
    assert heard == []
    async with _transaction(aconn):
        made = await client.enqueue(aconn, "noop", {"order": 2}, priority=1)
    for _ in range(100):
        if heard:
            break
        await asyncio.sleep(0.02)
    await listener.close()
    assert heard == ["open"]
    row = await pool.fetchrow("SELECT * FROM jobs")
    assert row["uuid"] == made.uuid and not made.duplicate
    assert (row["data"], row["priority"]) == ({"order": 2}, 1)


async def test_unique_key_answers_the_existing_job(aconn: Any, pool: asyncpg.Pool) -> None:
    first = await client.enqueue(aconn, "noop", {}, unique_key="receipt:7")
    second = await client.enqueue(aconn, "noop", {"again": True}, unique_key="receipt:7")
    await _commit(aconn)
    assert second.uuid == first.uuid and second.duplicate and not first.duplicate
    assert await pool.fetchval("SELECT count(*) FROM jobs") == 1


async def test_enqueue_many_in_one_statement(aconn: Any, pool: asyncpg.Pool) -> None:
    uuids = await client.enqueue_many(aconn, "sleep", [{"seconds": 0}, {"seconds": 1}],
                                      retry_count=2)
    await _commit(aconn)
    rows = await pool.fetch("SELECT uuid, data, retry_count FROM jobs ORDER BY id")
    assert [r["uuid"] for r in rows] == uuids
    assert [r["data"] for r in rows] == [{"seconds": 0}, {"seconds": 1}]
    assert {r["retry_count"] for r in rows} == {2}


def test_enqueue_on_every_sync_driver(sconn: Any) -> None:
    made = client.enqueue_sync(sconn, "noop", {"order": 3}, unique_key="o:3")
    again = client.enqueue_sync(sconn, "noop", {"order": 3}, unique_key="o:3")
    many = client.enqueue_many_sync(sconn, "noop", [{"n": 1}, {"n": 2}])
    if hasattr(sconn, "commit"):
        sconn.commit()
    assert again.duplicate and again.uuid == made.uuid and len(many) == 2
    got = client.get_sync(sconn, many[1])
    assert got is not None and got["data"] == {"n": 2}


@pytest.mark.parametrize(("call", "field", "needle"), [
    ({"job_type": "no_such_type"}, "job_type", "unknown job type 'no_such_type'"),
    ({"job_type": "sleep", "data": {"seconds": -1}}, "job_data.seconds", "greater than or equal"),
    ({"job_type": "noop", "priority": 10}, "priority", "less than or equal to 9"),
    ({"job_type": "noop", "timeout": 0}, "timeout", "greater than 0"),
    ({"job_type": "noop", "unique_key": "k" * 201}, "unique_key", "at most 200"),
    ({"job_type": "noop", "data": {"a": float("nan")}}, "job_data.a", "finite number"),
])
async def test_bad_input_is_refused_before_anything_is_written(
    db_dsn: str, pool: asyncpg.Pool, call: dict[str, Any], field: str, needle: str,
) -> None:
    conn = await asyncpg.connect(db_dsn)
    try:
        with pytest.raises(client.JobInputError) as info:
            await client.enqueue(conn, call.pop("job_type"), call.pop("data", {}), **call)
    finally:
        await conn.close()
    assert info.value.field == field and needle in str(info.value)
    assert await pool.fetchval("SELECT count(*) FROM jobs") == 0


async def test_unvalidated_job_of_an_unknown_type_ends_dead_when_claimed(
    db_dsn: str, config: Config,
) -> None:
    conn = await asyncpg.connect(db_dsn)
    try:
        made = await client.enqueue(conn, "only_in_the_worker", {"x": 1}, retry_count=5,
                                    validate=False)
        async with running_daemon(Daemon(config, families_with())):
            done = await client.wait(conn, made.uuid, timeout=20)
    finally:
        await conn.close()
    assert done["status"] == "dead" and done["attempts"] == 1
    assert "unknown job type 'only_in_the_worker'" in done["job_response"]["runtime_errors"][0]
