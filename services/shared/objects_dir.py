"""The directory object store: DATA_DIR/objects/<bucket>/<key>, the same behaviour as S3."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import anyio

from services.shared.objects import (
    CHUNK_SIZE,
    BucketNotFound,
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    validate_bucket,
    validate_key,
)

_PARTIAL = ".partial-"  # in-progress writes; never listed, renamed into place when complete


class DirectoryObjectStore:
    """Objects as files; each bucket a directory (the default one is made on first write)."""

    kind = "directory"

    def __init__(self, root: Path, default_bucket: str) -> None:
        self.root = root.resolve()
        self._default = default_bucket

    @property
    def default_bucket(self) -> str:
        """The bucket used when none is given."""
        return self._default

    def bucket_dir(self, bucket: str | None) -> Path:
        """The directory of an existing bucket."""
        name = validate_bucket(bucket or self._default)
        path = self.root / name
        if not path.is_dir():
            if name != self._default:
                raise BucketNotFound(name)
            path.mkdir(parents=True, exist_ok=True)  # the default bucket always exists
        return path

    def path_of(self, key: str, bucket: str | None = None) -> Path:
        """The file a key maps to, refused if it would resolve outside the bucket."""
        base = self.bucket_dir(bucket)
        path = (base / validate_key(key)).resolve()
        if not path.is_relative_to(base.resolve()):
            raise InvalidKey(f"object key {key!r} resolves outside its bucket (a symlink?)")
        if path.name.startswith(_PARTIAL):
            raise InvalidKey(f"object key {key!r} uses the reserved prefix {_PARTIAL!r}")
        return path

    def _existing(self, key: str, bucket: str | None) -> Path:
        path = self.path_of(key, bucket)
        if not path.is_file():
            raise ObjectNotFound(bucket or self._default, key)
        return path

    async def read(self, key: str, *, bucket: str | None = None, start: int = 0,
                   chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        """The object's bytes from offset `start`, in chunks."""
        path = self._existing(key, bucket)
        async with await anyio.open_file(path, "rb") as f:
            await f.seek(start)
            while chunk := await f.read(chunk_size):
                yield chunk

    async def write(self, key: str, chunks: AsyncIterable[bytes], *, bucket: str | None = None,
                    content_type: str = "application/octet-stream") -> ObjectInfo:
        """Write to a hidden partial file, then rename it into place (readers never see half)."""
        path = self.path_of(key, bucket)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{_PARTIAL}{uuid.uuid4().hex}")
        try:
            async with await anyio.open_file(partial, "wb") as f:
                async for chunk in chunks:
                    await f.write(chunk)
                await anyio.to_thread.run_sync(_fsync, f.wrapped)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        return await self.stat(key, bucket=bucket)

    async def stat(self, key: str, *, bucket: str | None = None) -> ObjectInfo:
        """Size and time of one object."""
        st = self._existing(key, bucket).stat()
        return ObjectInfo(bucket or self._default, key, st.st_size,
                          datetime.fromtimestamp(st.st_mtime, UTC))

    async def list(self, prefix: str = "", *,
                   bucket: str | None = None) -> AsyncIterator[ObjectInfo]:
        """Objects whose key starts with `prefix`, in key order."""
        base = self.bucket_dir(bucket)
        keys = sorted(
            p.relative_to(base).as_posix() for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(_PARTIAL)
        )
        for key in keys:
            if key.startswith(prefix):
                st = (base / key).stat()
                yield ObjectInfo(bucket or self._default, key, st.st_size,
                                 datetime.fromtimestamp(st.st_mtime, UTC))

    async def delete(self, key: str, *, bucket: str | None = None) -> None:
        """Remove an object; a missing one is not an error."""
        self.path_of(key, bucket).unlink(missing_ok=True)

    async def presign_put(self, key: str, *, bucket: str | None = None,
                          expires: int = 3600) -> str | None:
        """None: clients upload through the API's authenticated PUT endpoint instead."""
        self.path_of(key, bucket)
        return None

    async def presign_get(self, key: str, *, bucket: str | None = None,
                          expires: int = 3600) -> str | None:
        """None: the directory store has no URLs of its own."""
        self.path_of(key, bucket)
        return None


def _fsync(f: IO[bytes]) -> None:
    f.flush()
    os.fsync(f.fileno())
