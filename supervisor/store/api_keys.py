"""API keys: random tokens of which only a SHA-256 is stored, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime
from typing import Any, NamedTuple

import asyncpg

from supervisor.store.sql import q

KEY_PREFIX = "sv_"  # lets secret scanners and people recognise a supervisor key
PREFIX_LENGTH = len(KEY_PREFIX) + 8  # what listings show, and the lookup column
_SHAPE = re.compile(r"sv_[A-Za-z0-9_-]{43}")
KINDS = ("full", "read_only")  # read_only: sees everything, changes nothing


class KeyInfo(NamedTuple):
    """Who a live key is: its id and kind."""

    id: int
    kind: str

    @property
    def read_only(self) -> bool:
        """True for a key that may not change anything."""
        return self.kind == "read_only"


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

    async def create(self, name: str, kind: str = "full") -> tuple[str, asyncpg.Record]:
        """A new `kind` key named `name` (checked): (the secret, shown only now; its row)."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
        name = check_key_name(name)
        key = new_key()
        try:
            row: asyncpg.Record | None = await self.pool.fetchrow(
                q("create_api_key"), name, key[:PREFIX_LENGTH], key_hash(key), kind)
        except asyncpg.UniqueViolationError as exc:
            raise DuplicateKeyName(f"a live API key is already named {name!r}; revoke it first "
                                   "or choose another name") from exc
        assert row is not None  # INSERT ... RETURNING always returns the row
        return key, row

    async def verify(self, key: str) -> int | None:
        """The id of the live key `key`, or None; marks it used."""
        info = await self.identify(key)
        return None if info is None else info.id

    async def identify(self, key: str) -> KeyInfo | None:
        """The id and kind of the live key `key`, or None; marks it used."""
        if not _SHAPE.fullmatch(key):
            return None  # not one of ours: no need to ask the database
        digest = key_hash(key)
        rows = await self.pool.fetch(q("api_key_candidates"), key[:PREFIX_LENGTH])
        for row in rows:
            if hmac.compare_digest(bytes(row["key_hash"]), digest):
                await self.pool.execute(q("touch_api_key"), row["id"])
                return KeyInfo(row["id"], row["kind"])
        return None

    async def live(self, key_id: int) -> KeyInfo | None:
        """The key with this id if it is still live (a dashboard session's key)."""
        row = await self.pool.fetchrow(q("live_api_key"), key_id)
        return None if row is None else KeyInfo(row["id"], row["kind"])

    async def ui_secret(self) -> bytes:
        """The secret that signs dashboard sessions (made by a migration)."""
        value: bytes = await self.pool.fetchval(q("ui_secret"))
        return bytes(value)

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
