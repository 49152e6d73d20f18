"""Object storage behind one small interface: S3 (aioboto3) or a directory under DATA_DIR."""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

CHUNK_SIZE = 256 * 1024
MAX_KEY_LENGTH = 1024
DEFAULT_BUCKET = "default"  # the directory store's bucket when S3_BUCKET is unset
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


class ObjectStoreError(Exception):
    """A failure of the object store that names the bucket and key."""


class InvalidKey(ObjectStoreError, ValueError):
    """An object key or bucket name the store refuses; the message says why."""


class ObjectNotFound(ObjectStoreError):
    """No object under that key."""

    def __init__(self, bucket: str, key: str) -> None:
        super().__init__(f"object {key!r} does not exist in bucket {bucket!r}")
        self.bucket, self.key = bucket, key


class BucketNotFound(ObjectStoreError):
    """No such bucket."""

    def __init__(self, bucket: str) -> None:
        super().__init__(f"bucket {bucket!r} does not exist")
        self.bucket = bucket


@dataclass(frozen=True)
class ObjectInfo:
    """What stat and list report about one object."""

    bucket: str
    key: str
    size: int
    modified: datetime | None = None


def validate_key(key: str) -> str:
    """The key unchanged if it is a safe relative object key, else InvalidKey saying why."""
    if not key or not key.strip():
        raise InvalidKey("object key is empty; give a path such as 'uploads/contacts.csv'")
    if len(key.encode()) > MAX_KEY_LENGTH:
        raise InvalidKey(f"object key is longer than {MAX_KEY_LENGTH} bytes")
    if "\x00" in key or "\\" in key:
        raise InvalidKey(f"object key {key!r} contains a NUL or a backslash; use '/' only")
    if key.startswith("/"):
        raise InvalidKey(f"object key {key!r} is absolute; drop the leading '/'")
    parts = key.split("/")
    if any(p in ("..", ".") for p in parts):
        raise InvalidKey(f"object key {key!r} has a '.' or '..' segment; keys cannot leave "
                         "their bucket")
    if any(p == "" for p in parts[:-1]) or key.endswith("/"):
        raise InvalidKey(f"object key {key!r} has an empty segment ('//' or a trailing '/')")
    return key


def validate_bucket(bucket: str) -> str:
    """The bucket name unchanged if S3 would accept it, else InvalidKey saying why."""
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise InvalidKey(f"bucket name {bucket!r} is invalid: 3-63 characters of a-z, 0-9, "
                         "'.' and '-', starting and ending with a letter or digit")
    return bucket


class ObjectStore(Protocol):
    """Streaming object storage; `bucket=None` means the configured default bucket."""

    @property
    def default_bucket(self) -> str:
        """The bucket used when none is given."""

    @property
    def kind(self) -> str:
        """'s3' or 'directory'."""

    def read(self, key: str, *, bucket: str | None = None, start: int = 0,
             chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        """The object's bytes from offset `start`, in chunks (ObjectNotFound, BucketNotFound)."""

    async def write(self, key: str, chunks: AsyncIterable[bytes], *, bucket: str | None = None,
                    content_type: str = "application/octet-stream") -> ObjectInfo:
        """Store a stream under `key`, replacing any object there; never all in memory."""

    async def stat(self, key: str, *, bucket: str | None = None) -> ObjectInfo:
        """Size and time of one object (ObjectNotFound, BucketNotFound)."""

    def list(self, prefix: str = "", *, bucket: str | None = None) -> AsyncIterator[ObjectInfo]:
        """Objects whose key starts with `prefix`, in key order."""

    async def delete(self, key: str, *, bucket: str | None = None) -> None:
        """Remove an object; a missing one is not an error."""

    async def presign_put(self, key: str, *, bucket: str | None = None,
                          expires: int = 3600) -> str | None:
        """A URL a client can PUT the object to, or None when the store has none (directory)."""

    async def presign_get(self, key: str, *, bucket: str | None = None,
                          expires: int = 3600) -> str | None:
        """A URL a client can GET the object from, or None when the store has none."""


async def write_bytes(store: ObjectStore, key: str, data: bytes, *, bucket: str | None = None,
                      content_type: str = "application/octet-stream") -> ObjectInfo:
    """Store a small payload held in memory."""

    async def one() -> AsyncIterator[bytes]:
        yield data

    return await store.write(key, one(), bucket=bucket, content_type=content_type)


async def read_bytes(store: ObjectStore, key: str, *, bucket: str | None = None) -> bytes:
    """A small object's whole content (for tests and tiny files only)."""
    return b"".join([c async for c in store.read(key, bucket=bucket)])


@asynccontextmanager
async def open_object_store(
    *, kind: str, data_dir: Path, bucket: str | None = None, endpoint_url: str | None = None,
    region: str | None = None,
) -> AsyncIterator[ObjectStore]:
    """The store `kind` names ('s3' or 'directory'), open for the life of the context."""
    if kind == "s3":
        if not bucket:
            raise ObjectStoreError("the S3 object store needs S3_BUCKET; set it, or use the "
                                   "directory store")
        from services.shared.objects_s3 import S3ObjectStore

        async with S3ObjectStore.open(validate_bucket(bucket), endpoint_url=endpoint_url,
                                      region=region) as s3:
            yield s3
        return
    if kind != "directory":
        raise ObjectStoreError(f"unknown object store {kind!r}; use 's3' or 'directory'")
    from services.shared.objects_dir import DirectoryObjectStore

    yield DirectoryObjectStore(data_dir / "objects", validate_bucket(bucket or DEFAULT_BUCKET))
