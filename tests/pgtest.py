"""A PostgreSQL for tests: the one in the environment, the local server, or an embedded one."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from supervisor.families import discover
from supervisor.store.migrate import migrate

LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def with_database(dsn: str, name: str) -> str:
    """The same server, another database."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


async def _reachable(dsn: str) -> bool:
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


def server_dsn() -> tuple[str, object | None]:
    """(admin DSN, embedded server or None): TEST_DATABASE_URL, the local server, or embedded.

    TEST_DATABASE_URL=embedded forces the embedded server, as on a machine without PostgreSQL.
    """
    explicit = os.environ.get("TEST_DATABASE_URL", "")
    if explicit and explicit != "embedded":
        return explicit, None
    if not explicit and asyncio.run(_reachable(LOCAL_DSN)):
        return LOCAL_DSN, None
    import pgserver

    server = pgserver.get_server(tempfile.mkdtemp(prefix="supervisor-test-pg-"),
                                 cleanup_mode="delete")
    return str(server.get_uri()), server


async def _admin(dsn: str, *statements: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


def create_template(admin_dsn: str) -> str:
    """A migrated template database; each test clones it."""
    name = f"supervisor_tpl_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(admin_dsn, f'CREATE DATABASE "{name}"'))

    async def _migrate() -> None:
        conn = await asyncpg.connect(with_database(admin_dsn, name))
        try:
            await migrate(conn, discover().migration_sources())
        finally:
            await conn.close()

    asyncio.run(_migrate())
    asyncio.run(_admin(admin_dsn, f'ALTER DATABASE "{name}" WITH is_template = true'))
    return name


def drop_database(admin_dsn: str, name: str, *, template: bool = False) -> None:
    """Remove a test database, whoever is still connected."""
    statements = [f'ALTER DATABASE "{name}" WITH is_template = false'] if template else []
    statements.append(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    asyncio.run(_admin(admin_dsn, *statements))


async def clone(admin_dsn: str, template: str) -> str:
    """A fresh database cloned from the template; returns its name."""
    name = f"supervisor_t_{uuid.uuid4().hex[:12]}"
    await _admin(admin_dsn, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


async def drop(admin_dsn: str, name: str) -> None:
    """Async drop for function-scoped fixtures."""
    await _admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
