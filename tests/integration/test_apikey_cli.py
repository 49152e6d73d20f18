"""`supervisor apikey create|list|revoke` against a real database, as a user runs them."""

from __future__ import annotations

import asyncio
import os
import sys

import asyncpg

from supervisor.store.api_keys import ApiKeyStore


async def _cli(dsn: str, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "DATABASE_URL": dsn, "SUPERVISOR_CONFIG": os.devnull}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "supervisor", "apikey", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_create_list_revoke(db_dsn: str, pool: asyncpg.Pool) -> None:
    code, out, err = await _cli(db_dsn, "create", "etl")
    key = out.strip()
    assert code == 0 and key.startswith("sv_") and "shown only now" in err
    assert f"X-API-Key: {key}" in err and "/common/jobs/create" in err
    assert await ApiKeyStore(pool).verify(key) is not None

    code, out, _ = await _cli(db_dsn, "list")
    assert code == 0 and "etl" in out and key[:11] in out and key not in out

    code, out, _ = await _cli(db_dsn, "revoke", "etl")
    assert code == 0 and "revoked API key 'etl'" in out
    assert await ApiKeyStore(pool).verify(key) is None
    code, out, _ = await _cli(db_dsn, "list", "--revoked", "--json")
    assert code == 0 and '"revoked_at": null' not in out and '"name": "etl"' in out


async def test_refusals_say_why(db_dsn: str) -> None:
    await _cli(db_dsn, "create", "etl")
    code, _, err = await _cli(db_dsn, "create", "etl")
    assert code == 1 and "already named 'etl'" in err
    code, _, err = await _cli(db_dsn, "revoke", "ghost")
    assert code == 1 and "no live API key named 'ghost'" in err
    code, _, err = await _cli(db_dsn, "revoke")
    assert code == 2 and "NAME or --id" in err
