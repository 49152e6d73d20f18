"""`supervisor db migrate`."""

from __future__ import annotations

import typer

from supervisor.cli.common import FullHelpGroup, families, open_pool, run_async, settings
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
