"""What every CLI command shares: loading settings, opening the store, failing clearly."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import anyio
import asyncpg
import typer

from supervisor.config import EX_CONFIG, Config, ConfigError, load_config
from supervisor.families import Families, FamilyError, LoadedFamily, discover
from supervisor.logs import configure_logging
from supervisor.runtime.eventloop import backend_options
from supervisor.store.db import DatabaseUnavailable, create_pool, resolve_dsn
from supervisor.store.jobs import JobStore
from supervisor.store.migrate import migrate

EX_UNAVAILABLE = 69  # sysexits.h: a service we need (PostgreSQL) is not there
T = TypeVar("T")


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
    """Run a coroutine function, turning a missing database into a clear exit 69."""
    try:
        return anyio.run(fn, backend_options=backend_options())
    except DatabaseUnavailable as exc:
        fail(str(exc), EX_UNAVAILABLE)


@asynccontextmanager
async def open_pool(
    config: Config, *, apply_migrations: bool = True, found: Families | None = None
) -> AsyncIterator[asyncpg.Pool]:
    """A small pool on the configured (or embedded) database, schema up to date."""
    async with AsyncExitStack() as stack:
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
