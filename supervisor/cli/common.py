"""What every CLI command shares: loading settings, opening the store, failing clearly."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import anyio
import asyncpg
import typer
from typer.core import TyperGroup

from supervisor.config import EX_CONFIG, Config, ConfigError, load_config
from supervisor.families import Families, FamilyError, LoadedFamily, discover
from supervisor.logs import configure_logging
from supervisor.runtime.eventloop import backend_options
from supervisor.runtime.supervise import EX_SOFTWARE, ServiceFailed, StartupFailure
from supervisor.store.db import DatabaseUnavailable, create_pool, resolve_dsn
from supervisor.store.jobs import JobStore
from supervisor.store.migrate import migrate

EX_UNAVAILABLE = 69  # sysexits.h: a service we need (PostgreSQL) is not there
T = TypeVar("T")


class FullHelpGroup(TyperGroup):
    """A command group whose listing shows each command's first sentence whole, never cut."""

    # Any: typer ships its own copy of click, whose Context and HelpFormatter these are.
    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The commands and their one-line help; long lines wrap instead of ending in '...'."""
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print an error for a person and exit."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def settings(**overrides: Any) -> Config:
    """The effective config, or exit 78 naming the bad setting."""
    try:
        config = load_config()
    except ConfigError as exc:
        fail(str(exc), EX_CONFIG)
    config = config.with_overrides(**overrides) if overrides else config
    configure_logging(config.logging_level)
    return config


def families(config: Config | None = None) -> Families:
    """The installed families, their settings checked, or exit 78 naming what is wrong."""
    try:
        found = discover()
        found.configure(config or load_config())
    except (ConfigError, FamilyError) as exc:
        fail(str(exc), EX_CONFIG)
    return found


def run_async(fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine function; an expected failure (see `expected`) exits with one line."""
    try:
        return anyio.run(fn, backend_options=backend_options())
    except Exception as exc:
        found = expected(exc)
        if found is None:
            raise
        fail(*found)


def expected(exc: BaseException) -> tuple[str, int] | None:
    """(message, exit status) of a failure we foresee, looked for inside exception groups.

    Task groups wrap a service's start-up error in one ExceptionGroup per level; a person
    needs the one line at the bottom, not the hundred above it.
    """
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            if (found := expected(inner)) is not None:
                return found
        return None
    if isinstance(exc, ServiceFailed):
        cause = exc.__cause__
        return (f"{exc}: {type(cause).__name__}: {cause}" if cause else str(exc)), EX_SOFTWARE
    if isinstance(exc, StartupFailure):
        return str(exc), exc.status
    if isinstance(exc, DatabaseUnavailable):
        return str(exc), EX_UNAVAILABLE
    if isinstance(exc, ConfigError):
        return str(exc), EX_CONFIG
    return None


@asynccontextmanager
async def open_pool(
    config: Config, *, apply_migrations: bool = True, found: Families | None = None
) -> AsyncIterator[asyncpg.Pool]:
    """A small pool on the configured (or embedded) database, schema up to date."""
    async with AsyncExitStack() as stack:
        # Which server a command uses is the daemon's business to log, not every command's.
        logging.getLogger("supervisor.store.db").setLevel(logging.WARNING)
        dsn = await resolve_dsn(config, stack)
        pool = await create_pool(dsn, min_size=1, max_size=4)
        stack.push_async_callback(pool.close)
        if apply_migrations:
            sources = (found or families(config)).migration_sources()
            async with pool.acquire() as conn:
                await migrate(conn, sources)
        yield pool


@dataclass
class FamilyRuntime:
    """What a family's CLI command works with: its loaded family, the database, the job store."""

    family: LoadedFamily
    families: Families
    pool: asyncpg.Pool
    jobs: JobStore
    config: Config


@asynccontextmanager
async def family_runtime(name: str) -> AsyncIterator[FamilyRuntime]:
    """The family `name` with its resources open, on the configured (or embedded) database."""
    config = settings()
    found = families(config)
    async with AsyncExitStack() as stack:
        pool = await stack.enter_async_context(open_pool(config, found=found))
        await found.open_resources(stack, config, pool)
        yield FamilyRuntime(found.get(name), found, pool, JobStore(pool), config)


def print_json(value: Any) -> None:
    """Machine-readable output."""
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")
