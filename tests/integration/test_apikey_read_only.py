"""`supervisor apikey create --read-only`: a key that sees everything and changes nothing."""

from __future__ import annotations

import json

import asyncpg

from supervisor.store.api_keys import ApiKeyStore
from tests.integration.test_apikey_cli import _cli


async def test_create_a_read_only_key(db_dsn: str, pool: asyncpg.Pool) -> None:
    code, out, err = await _cli(db_dsn, "create", "viewer", "--read-only")
    key = out.strip()
    assert code == 0 and "read-only API key 'viewer' created" in err
    info = await ApiKeyStore(pool).identify(key)
    assert info is not None and info.read_only
    code, out, _ = await _cli(db_dsn, "create", "etl")
    full = await ApiKeyStore(pool).identify(out.strip())
    assert full is not None and not full.read_only
    code, out, _ = await _cli(db_dsn, "list", "--json")
    assert {r["name"]: r["kind"] for r in json.loads(out)} == {"viewer": "read_only",
                                                                "etl": "full"}
    code, out, _ = await _cli(db_dsn, "list")
    assert "read_only" in out
