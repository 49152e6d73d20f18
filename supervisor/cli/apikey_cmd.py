"""`supervisor apikey create|list|revoke`: keys for the HTTP API's X-API-Key header."""

from __future__ import annotations

from typing import Any

import typer

from supervisor.api.service import usage_hint
from supervisor.cli.common import FullHelpGroup, fail, open_pool, print_json, run_async, settings
from supervisor.config import Config
from supervisor.store.api_keys import (
    ApiKeyStore,
    BadKeyName,
    DuplicateKeyName,
    check_key_name,
    key_dict,
)

app = typer.Typer(cls=FullHelpGroup, help="Create, list and revoke API keys for the HTTP API.",
                  no_args_is_help=True)


def _with_keys(fn: Any, config: Config | None = None) -> Any:
    config = config or settings()

    async def go() -> Any:
        async with open_pool(config) as pool:
            return await fn(ApiKeyStore(pool))

    return run_async(go)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="A name to tell the key apart, e.g. etl"),
    read_only: bool = typer.Option(False, "--read-only", help="A key that sees everything "
                                   "and changes nothing (API and dashboard)"),
) -> None:
    """Create a key and print it; it is shown only this once."""
    try:
        name = check_key_name(name)
    except BadKeyName as exc:
        fail(str(exc), 2)

    async def go(keys: ApiKeyStore) -> Any:
        try:
            return await keys.create(name, "read_only" if read_only else "full")
        except DuplicateKeyName as exc:
            fail(str(exc), 1)

    config = settings()
    key, _row = _with_keys(go, config)
    typer.echo(key)
    kind = "read-only API key" if read_only else "API key"
    typer.echo(f"{kind} {name!r} created. It is shown only now: store it safely. Use:\n"
               f"  {usage_hint(key, config.api_host, config.api_port)}", err=True)


@app.command("list")
def list_keys(
    revoked: bool = typer.Option(False, "--revoked", help="Include revoked keys"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """List keys by name and prefix (the secrets themselves are not stored)."""

    async def go(keys: ApiKeyStore) -> Any:
        return await keys.list(include_revoked=revoked)

    rows = [key_dict(r) for r in _with_keys(go)]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        state = f"revoked {r['revoked_at']}" if r["revoked_at"] else "live"
        typer.echo(f"{r['id']:>4}  {r['name']:<20} {r['prefix']}...  {r['kind']:<9}  "
                   f"created={r['created_at']}  "
                   f"last_used={r['last_used_at'] or 'never'}  {state}")
    typer.echo(f"({len(rows)} key(s))", err=True)


@app.command("revoke")
def revoke(
    name: str = typer.Argument(None, help="Name of the live key to revoke"),
    key_id: int = typer.Option(None, "--id", help="Revoke by id instead (see `apikey list`)"),
) -> None:
    """Revoke a key: requests using it are refused within seconds (API processes cache keys)."""
    if (name is None) == (key_id is None):
        fail("give the key's NAME or --id ID (one of them)", 2)
    target: str | int = key_id if key_id is not None else name

    async def go(keys: ApiKeyStore) -> Any:
        return await keys.revoke(target)

    row = _with_keys(go)
    if row is None:
        fail(f"no live API key {'with id' if key_id is not None else 'named'} {target!r}", 1)
    typer.echo(f"revoked API key {row['name']!r} (id {row['id']}, {row['prefix']}...)")
