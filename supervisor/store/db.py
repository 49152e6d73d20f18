"""Connections to PostgreSQL: the configured DSN, or an embedded server in DATA_DIR."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from supervisor.config import Config, mask_dsn

log = logging.getLogger("supervisor.store.db")


class DatabaseUnavailable(RuntimeError):
    """PostgreSQL cannot be reached; the message says where and how to fix it."""


# What an outage looks like from asyncpg, whatever class it picks: the socket failed (OSError),
# the server went away or refuses connections for now (SQLSTATE classes 08, 53, 57P01-57P03, 57P05),
# the client lost track of a connection that died mid-statement (InterfaceError,
# InternalClientError such as "cannot switch to state 15; another operation is in progress",
# raised when a dead connection goes back to the pool), or a statement timed out.
TRANSIENT_DB_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ConnectionError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.InsufficientResourcesError,
    asyncpg.TransactionRollbackError,  # serialization failure, deadlock: try again
    DatabaseUnavailable,
)
# A bug of ours that asyncpg reports through a transient class must still surface.
_NOT_TRANSIENT: tuple[type[BaseException], ...] = (asyncpg.exceptions.OutdatedSchemaCacheError,)
_TRANSIENT_SQLSTATE_PREFIXES = ("08", "53", "57P01", "57P02", "57P03", "57P05", "40001", "40P01")


def is_transient(exc: BaseException) -> bool:
    """Errors that mean 'the database is away for now', worth waiting out.

    Judged by meaning, not by one class: the exception or its SQLSTATE, the error it was
    raised from, or every error of a group (a task group that failed of an outage).
    """
    if isinstance(exc, BaseExceptionGroup):
        return all(is_transient(inner) for inner in exc.exceptions)
    if _transient_one(exc):
        return True
    return exc.__cause__ is not None and is_transient(exc.__cause__)


def _transient_one(exc: BaseException) -> bool:
    if isinstance(exc, _NOT_TRANSIENT):
        return False
    if isinstance(exc, TRANSIENT_DB_ERRORS):
        return True
    sqlstate = getattr(exc, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(_TRANSIENT_SQLSTATE_PREFIXES)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def resolve_dsn(config: Config, stack: AsyncExitStack) -> str:
    """The DSN a command uses: DATABASE_URL, or the embedded server the daemon runs.

    Never starts a server (see supervisor.store.embedded: only the daemon and `db init` do).
    """
    if config.database_url:
        return str(config.database_url)
    from supervisor.store.embedded import attach

    return attach(config)


async def connect(dsn: str, **kwargs: Any) -> asyncpg.Connection:
    """One connection with our codecs, or DatabaseUnavailable with a useful message."""
    try:
        conn = await asyncpg.connect(dsn, timeout=10, **kwargs)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise DatabaseUnavailable(_explain(dsn, exc)) from exc
    await _init_connection(conn)
    return conn  # type: ignore[no-any-return]


# Sessions that run only statements which find jobs by key or through a partial index (claims,
# start marks, status batches). Their plans are cached per connection, often first made on a
# nearly empty table, where a sequential scan is cheapest, and kept until the next ANALYZE of
# jobs: after a burst of jobs each claim and each batch then read the whole table (11 ms for a
# claim of 100 of 20,000 jobs instead of 2, 6.6 ms for a batch of 100 finishes instead of 2.3).
KEYED_ONLY = {"enable_seqscan": "off"}


async def create_pool(
    dsn: str, *, min_size: int = 2, max_size: int = 10, durable: bool = True,
    reset_session: bool = True, server_settings: dict[str, str] | None = None,
) -> asyncpg.Pool:
    """A connection pool with our codecs, or DatabaseUnavailable.

    `durable=False` commits without waiting for the WAL flush: only for writes whose loss in a
    PostgreSQL crash is harmless (a lost claim just leaves the job open to be claimed again).

    `reset_session=False` skips asyncpg's session reset (`RESET ALL`, `UNLISTEN *`, unlocking
    advisory locks) on every release, one round trip each: as much as the statement itself on
    the claim and status-write paths. Only for pools that run the project's own statements,
    which leave no session state behind; an open transaction is still rolled back and listeners
    are still dropped. Pools handed to job code keep the reset.
    """
    settings = {} if durable else {"synchronous_commit": "off"}
    settings.update(server_settings or {})
    extra: dict[str, Any] = {} if reset_session else {"reset": _keep_session}
    try:
        pool = await asyncpg.create_pool(
            dsn, min_size=min_size, max_size=max_size, init=_init_connection, timeout=10,
            command_timeout=60, server_settings=settings, **extra,
        )
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise DatabaseUnavailable(_explain(dsn, exc)) from exc
    assert pool is not None
    return pool


async def lane_pools(dsn: str) -> tuple[asyncpg.Pool, asyncpg.Pool]:
    """A daemon's claim pool and its status writer's pool, both KEYED_ONLY.

    Claims and start marks: fast commits, one connection per lane. Their plans do not depend on
    the values (always the claimable rows' partial indexes, then the keys), and planning the
    claim with limits afresh each time cost more than running it, so they keep generic plans.
    Status batches: durable, one at a time (a second connection while isolating a refused one).
    """
    claims = await create_pool(dsn, min_size=1, max_size=3, durable=False, reset_session=False,
                               server_settings={"plan_cache_mode": "force_generic_plan",
                                                **KEYED_ONLY})
    try:
        writes = await create_pool(dsn, min_size=1, max_size=2, reset_session=False,
                                   server_settings=KEYED_ONLY)
    except BaseException:
        await claims.close()
        raise
    return claims, writes


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The release of a pool whose session needs no reset (see create_pool)."""


def _explain(dsn: str, exc: BaseException) -> str:
    return (f"cannot connect to PostgreSQL at {mask_dsn(dsn)}: {exc}. Check that the server is "
            "running and DATABASE_URL is right, or unset DATABASE_URL to use the embedded one.")


class HeldConnection:
    """One connection of a pool, kept acquired by a caller that runs one statement at a time.

    `Pool.fetch` acquires and releases around every statement, and asyncpg runs the release in
    a shielded task: one more event-loop turn before the caller sees its rows. A lane's claims
    are on the pickup path, one after the other, so each lane keeps its connection. Any error or
    cancellation inside `use()` hands the connection back to the pool, which resets or replaces
    it; the next `use()` acquires afresh, so a restarted server costs one failed statement.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._conn: PoolConnectionProxy | None = None
        self._lock = asyncio.Lock()  # a second caller waits instead of interleaving statements

    @asynccontextmanager
    async def use(self) -> AsyncIterator[PoolConnectionProxy]:
        async with self._lock:
            conn = self._conn
            if conn is None:
                conn = self._conn = await self._pool.acquire()
            try:
                yield conn
            except BaseException:
                await self.release()
                raise

    async def release(self) -> None:
        """Give the connection back (before the pool closes: Pool.close waits for it)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await self._pool.release(conn)
