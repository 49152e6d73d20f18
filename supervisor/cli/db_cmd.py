"""`supervisor db init|migrate`."""

from __future__ import annotations

from typing import Any

import anyio
import typer

from supervisor.cli.common import FullHelpGroup, families, open_pool, run_async, settings
from supervisor.config import Config
from supervisor.store.db import connect
from supervisor.store.embedded import EmbeddedServer
from supervisor.store.migrate import available, migrate

app = typer.Typer(cls=FullHelpGroup, help="Manage the database schema.", no_args_is_help=True)


@app.command("migrate")
def migrate_cmd() -> None:
    """Apply pending migrations (the daemon also does this at start)."""
    config = settings()
    sources = families(config).migration_sources()

    async def go() -> list[str]:
        async with open_pool(config, apply_migrations=False) as pool, pool.acquire() as conn:
            return [f"{m.family}/{m.version:04d}_{m.name}" for m in await migrate(conn, sources)]

    done = run_async(go)
    typer.echo(f"applied {len(done)} migration(s): {', '.join(done)}" if done else
               f"schema is up to date ({len(available(sources))} migrations)")


@app.command("init")
def init_cmd() -> None:
    """Create the database and its schema: with no DATABASE_URL, the embedded one in DATA_DIR.

    The embedded server is started for this and stopped again, unless a daemon runs on it.
    """
    config = settings()
    sources = families(config).migration_sources()
    done = run_async(lambda: _init(config, sources))
    typer.echo(done)


async def _init(config: Config, sources: Any) -> str:
    if config.database_url:
        conn = await connect(str(config.database_url))
        try:
            applied = await migrate(conn, sources)
        finally:
            await conn.close()
        return f"database ready ({len(applied)} migration(s) applied)"
    server = EmbeddedServer(config)
    dsn = await anyio.to_thread.run_sync(server.start)
    try:
        conn = await connect(dsn)
        try:
            applied = await migrate(conn, sources)
        finally:
            await conn.close()
    finally:
        await anyio.to_thread.run_sync(server.stop)
    return (f"embedded database ready in {server.pgdata} ({len(applied)} migration(s) applied; "
            f"{server.how})")
