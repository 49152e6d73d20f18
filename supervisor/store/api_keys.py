"""API keys: random tokens of which only a SHA-256 is stored, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime
from typing import Any

import asyncpg

from supervisor.store.sql import q

KEY_PREFIX = "sv_"  # lets secret scanners and people recognise a supervisor key
PREFIX_LENGTH = len(KEY_PREFIX) + 8  # what listings show, and the lookup column
_SHAPE = re.compile(r"sv_[A-Za-z0-9_-]{43}")


KEY_NAME_MAX = 100


class DuplicateKeyName(ValueError):
    """A live key already has this name."""


class BadKeyName(ValueError):
    """A key name that is empty, too long or holds control characters."""


def check_key_name(name: str) -> str:
    """`name` stripped, or BadKeyName saying what a key name may be."""
    name = name.strip()
    if not name:
        raise BadKeyName("the key name must not be empty")
    if len(name) > KEY_NAME_MAX:
        raise BadKeyName(f"the key name is {len(name)} characters long; use at most "
                         f"{KEY_NAME_MAX}")
    if not name.isprintable():
        raise BadKeyName("the key name must not contain control characters")
    return name


def new_key() -> str:
    """A fresh key: 32 random bytes, URL-safe."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> bytes:
    """What is stored for a key; a fast hash suits 256-bit random tokens."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def key_dict(row: asyncpg.Record) -> dict[str, Any]:
    """A key row as JSON-friendly values (never the secret, which is not stored)."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in dict(row).items()}


class ApiKeyStore:
    """Create, verify, list and revoke API keys."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create(self, name: str) -> tuple[str, asyncpg.Record]:
        """A new key named `name` (checked, stripped): (the secret, shown only now; its row)."""
        name = check_key_name(name)
        key = new_key()
        try:
            row: asyncpg.Record | None = await self.pool.fetchrow(
                q("create_api_key"), name, key[:PREFIX_LENGTH], key_hash(key))
        except asyncpg.UniqueViolationError as exc:
            raise DuplicateKeyName(f"a live API key is already named {name!r}; revoke it first "
                                   "or choose another name") from exc
        assert row is not None  # INSERT ... RETURNING always returns the row
        return key, row

    async def verify(self, key: str) -> int | None:
        """The id of the live key `key`, or None; marks it used."""
        if not _SHAPE.fullmatch(key):
            return None  # not one of ours: no need to ask the database
        digest = key_hash(key)
        rows = await self.pool.fetch(q("api_key_candidates"), key[:PREFIX_LENGTH])
        for row in rows:
            if hmac.compare_digest(bytes(row["key_hash"]), digest):
                await self.pool.execute(q("touch_api_key"), row["id"])
                key_id: int = row["id"]
                return key_id
        return None

    async def list(self, *, include_revoked: bool = False) -> list[asyncpg.Record]:
        """Keys, oldest first."""
        rows: list[asyncpg.Record] = await self.pool.fetch(q("list_api_keys"), include_revoked)
        return rows

    async def revoke(self, name_or_id: str | int) -> asyncpg.Record | None:
        """Revoke the live key with this name (str) or id (int); None if there is none."""
        if isinstance(name_or_id, int):
            row: asyncpg.Record | None = await self.pool.fetchrow(
                q("revoke_api_key_by_id"), name_or_id)
        else:
            row = await self.pool.fetchrow(q("revoke_api_key_by_name"), name_or_id)
        return row

    async def count(self) -> int:
        """Keys ever created, revoked ones included."""
        n: int = await self.pool.fetchval(q("count_api_keys"))
        return n
