"""One small interface over the connections applications hold: asyncpg, psycopg 3, SQLAlchemy 2.

The client's SQL is written with `$n` parameters and `CAST(... AS type)` (never `$n::type`, which
SQLAlchemy's text() would misread); each driver gets it in its own parameter style. Values cross
as plain text, numbers and timestamps, and jobs come back as JSON text, so no driver's type
codecs (or an application's custom ones) change what the client sees.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

_PARAM = re.compile(r"\$(\d+)")
ASYNC_KINDS = ("an asyncpg Connection or Pool, a psycopg AsyncConnection, or a SQLAlchemy "
               "AsyncSession/AsyncConnection")
SYNC_KINDS = "a psycopg Connection, or a SQLAlchemy Session/Connection"


def _named(args: Sequence[Any]) -> dict[str, Any]:
    return {f"p{i}": value for i, value in enumerate(args, 1)}


def psycopg_sql(sql: str) -> str:
    """`$1` -> `%(p1)s`, with literal percent signs doubled."""
    return _PARAM.sub(r"%(p\1)s", sql.replace("%", "%%"))


def sqlalchemy_sql(sql: str) -> str:
    """`$1` -> `:p1`."""
    return _PARAM.sub(r":p\1", sql)


def _kind(conn: Any) -> str:
    """'asyncpg', 'psycopg', 'sqlalchemy' or '' by the connection's class, without importing."""
    for cls in type(conn).__mro__:
        root = cls.__module__.split(".", 1)[0]
        if root in ("asyncpg", "psycopg", "sqlalchemy"):
            return root
    return ""


def _is_async(conn: Any, kind: str) -> bool:
    """asyncpg is async only; psycopg and SQLAlchemy name their async classes Async*."""
    names = {cls.__name__ for cls in type(conn).__mro__}
    return kind == "asyncpg" or bool(names & {"AsyncConnection", "AsyncSession"})


def _check_open_postgres(conn: Any, kind: str) -> None:
    if kind == "asyncpg" and hasattr(conn, "is_closed") and conn.is_closed():
        raise ConnectionError("the asyncpg connection is closed; pass an open one")
    if kind == "psycopg" and conn.closed:
        raise ConnectionError("the psycopg connection is closed; pass an open one")
    if kind == "sqlalchemy":
        bind = conn.get_bind() if hasattr(conn, "get_bind") else conn
        dialect = getattr(getattr(bind, "dialect", None), "name", "")
        if dialect and dialect != "postgresql":
            raise TypeError(f"the SQLAlchemy connection is to a {dialect} database; supervisor "
                            "keeps jobs in PostgreSQL")


@dataclass(frozen=True)
class AsyncDriver:
    """Runs client SQL on an application's async connection, inside its transaction if any."""

    kind: str
    conn: Any

    @asynccontextmanager
    async def atomic(self) -> AsyncIterator[AsyncDriver]:
        """Statements on one connection in one transaction (a savepoint inside the caller's).

        A SQLAlchemy session is always in a transaction of its own: its commit ends ours.
        """
        if self.kind == "asyncpg" and hasattr(self.conn, "acquire"):  # a Pool
            async with self.conn.acquire() as held, held.transaction():
                yield AsyncDriver("asyncpg", held)
        elif self.kind in ("asyncpg", "psycopg"):
            async with self.conn.transaction():
                yield self
        else:
            yield self

    async def rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        """The rows of one statement as dicts."""
        if self.kind == "asyncpg":
            return [dict(r) for r in await self.conn.fetch(sql, *args)]
        if self.kind == "psycopg":
            cur = await self.conn.execute(psycopg_sql(sql), _named(args))
            return _psycopg_rows(cur.description, await cur.fetchall() if cur.description else [])
        from sqlalchemy import text

        result = await self.conn.execute(text(sqlalchemy_sql(sql)), _named(args))
        return [dict(m) for m in result.mappings().all()] if result.returns_rows else []


@dataclass(frozen=True)
class SyncDriver:
    """Runs client SQL on an application's blocking connection, inside its transaction if any."""

    kind: str
    conn: Any

    @contextmanager
    def atomic(self) -> Iterator[SyncDriver]:
        """Statements in one transaction (a savepoint inside the caller's; see AsyncDriver)."""
        if self.kind == "psycopg":
            with self.conn.transaction():
                yield self
        else:
            yield self

    def rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        """The rows of one statement as dicts."""
        if self.kind == "psycopg":
            cur = self.conn.execute(psycopg_sql(sql), _named(args))
            return _psycopg_rows(cur.description, cur.fetchall() if cur.description else [])
        from sqlalchemy import text

        result = self.conn.execute(text(sqlalchemy_sql(sql)), _named(args))
        return [dict(m) for m in result.mappings().all()] if result.returns_rows else []


def _psycopg_rows(description: Any, rows: Sequence[Any]) -> list[dict[str, Any]]:
    names = [d.name for d in description or ()]
    return [dict(zip(names, row, strict=True)) for row in rows]


def async_driver(conn: Any) -> AsyncDriver:
    """The driver for an async connection, or TypeError/ConnectionError saying what is wrong."""
    kind = _kind(conn)
    if not kind or not _is_async(conn, kind):
        hint = " (a blocking one: use the *_sync functions)" if kind else ""
        raise TypeError(f"supervisor.client needs {ASYNC_KINDS}; got "
                        f"{type(conn).__module__}.{type(conn).__qualname__}{hint}")
    _check_open_postgres(conn, kind)
    return AsyncDriver(kind, conn)


def sync_driver(conn: Any) -> SyncDriver:
    """The driver for a blocking connection, or TypeError/ConnectionError saying what is wrong."""
    kind = _kind(conn)
    if kind not in ("psycopg", "sqlalchemy") or _is_async(conn, kind):
        raise TypeError(f"the *_sync functions of supervisor.client need {SYNC_KINDS}; got "
                        f"{type(conn).__module__}.{type(conn).__qualname__}")
    _check_open_postgres(conn, kind)
    return SyncDriver(kind, conn)
