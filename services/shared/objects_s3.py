"""The S3 object store over aioboto3: any S3-compatible endpoint, credentials from the AWS chain."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aioboto3
from botocore.exceptions import ClientError

from services.shared.objects import (
    CHUNK_SIZE,
    BucketNotFound,
    ObjectInfo,
    ObjectNotFound,
    ObjectStoreError,
    validate_bucket,
    validate_key,
)

PART_SIZE = 8 * 1024 * 1024  # multipart part size: S3's minimum is 5 MiB
_MISSING_KEY = {"NoSuchKey", "404", "NotFound"}


def _translate(exc: ClientError, bucket: str, key: str | None) -> Exception:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    if code == "NoSuchBucket":
        return BucketNotFound(bucket)
    if code in _MISSING_KEY and key is not None:
        return ObjectNotFound(bucket, key)
    if code == "InvalidRange":
        return ObjectStoreError(f"read of {key!r} in {bucket!r} starts past its end")
    return ObjectStoreError(f"S3 {code or 'error'} on bucket {bucket!r} key {key!r}: {exc}")


class S3ObjectStore:
    """One S3 client, opened once per process, shared by every job."""

    kind = "s3"

    def __init__(self, client: Any, default_bucket: str) -> None:
        self._s3 = client
        self._default = default_bucket

    @classmethod
    @asynccontextmanager
    async def open(cls, bucket: str, *, endpoint_url: str | None = None,
                   region: str | None = None) -> AsyncIterator[S3ObjectStore]:
        """A store with a client open for the life of the context."""
        session = aioboto3.Session()
        async with session.client("s3", endpoint_url=endpoint_url, region_name=region) as s3:
            yield cls(s3, bucket)

    @property
    def default_bucket(self) -> str:
        """The bucket used when none is given."""
        return self._default

    def _where(self, key: str | None, bucket: str | None) -> str:
        if key is not None:
            validate_key(key)
        return validate_bucket(bucket or self._default)

    async def read(self, key: str, *, bucket: str | None = None, start: int = 0,
                   chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        """The object's bytes from offset `start`, in chunks, on one ranged GET."""
        name = self._where(key, bucket)
        extra = {"Range": f"bytes={start}-"} if start else {}
        try:
            resp = await self._s3.get_object(Bucket=name, Key=key, **extra)
        except ClientError as exc:
            raise _translate(exc, name, key) from exc
        body = resp["Body"]
        try:
            while chunk := await body.read(chunk_size):
                yield chunk
        finally:
            body.close()

    async def write(self, key: str, chunks: AsyncIterable[bytes], *, bucket: str | None = None,
                    content_type: str = "application/octet-stream") -> ObjectInfo:
        """One PUT for a small stream, a multipart upload (aborted on failure) for a large one."""
        name = self._where(key, bucket)
        buf = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            async for chunk in chunks:
                buf += chunk
                if len(buf) >= PART_SIZE:
                    if upload_id is None:
                        made = await self._s3.create_multipart_upload(
                            Bucket=name, Key=key, ContentType=content_type)
                        upload_id = made["UploadId"]
                    parts.append(await self._part(name, key, upload_id, len(parts) + 1, buf))
                    buf = bytearray()
            if upload_id is None:
                await self._s3.put_object(Bucket=name, Key=key, Body=bytes(buf),
                                          ContentType=content_type)
            else:
                if buf:
                    parts.append(await self._part(name, key, upload_id, len(parts) + 1, buf))
                await self._s3.complete_multipart_upload(
                    Bucket=name, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
        except BaseException as exc:
            if upload_id is not None:
                await self._s3.abort_multipart_upload(Bucket=name, Key=key, UploadId=upload_id)
            if isinstance(exc, ClientError):
                raise _translate(exc, name, key) from exc
            raise
        return await self.stat(key, bucket=name)

    async def _part(self, bucket: str, key: str, upload_id: str, number: int,
                    data: bytearray) -> dict[str, Any]:
        resp = await self._s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id,
                                          PartNumber=number, Body=bytes(data))
        return {"ETag": resp["ETag"], "PartNumber": number}

    async def stat(self, key: str, *, bucket: str | None = None) -> ObjectInfo:
        """Size and time of one object; a missing bucket is told apart from a missing key."""
        name = self._where(key, bucket)
        try:
            head = await self._s3.head_object(Bucket=name, Key=key)
        except ClientError as exc:
            err = _translate(exc, name, key)
            if isinstance(err, ObjectNotFound):
                await self._bucket_exists(name)
            raise err from exc
        return ObjectInfo(name, key, int(head["ContentLength"]), head.get("LastModified"))

    async def _bucket_exists(self, bucket: str) -> None:
        try:
            await self._s3.head_bucket(Bucket=bucket)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchBucket", "NotFound"):
                raise BucketNotFound(bucket) from exc
            raise _translate(exc, bucket, None) from exc

    async def list(self, prefix: str = "", *,
                   bucket: str | None = None) -> AsyncIterator[ObjectInfo]:
        """Objects whose key starts with `prefix`, in key order, page by page."""
        name = self._where(None, bucket)
        paginator = self._s3.get_paginator("list_objects_v2")
        try:
            async for page in paginator.paginate(Bucket=name, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield ObjectInfo(name, item["Key"], int(item["Size"]),
                                     item.get("LastModified"))
        except ClientError as exc:
            raise _translate(exc, name, None) from exc

    async def delete(self, key: str, *, bucket: str | None = None) -> None:
        """Remove an object; a missing one is not an error (S3 semantics)."""
        name = self._where(key, bucket)
        try:
            await self._s3.delete_object(Bucket=name, Key=key)
        except ClientError as exc:
            raise _translate(exc, name, key) from exc

    async def presign_put(self, key: str, *, bucket: str | None = None,
                          expires: int = 3600) -> str | None:
        """A presigned PUT URL for the key."""
        name = self._where(key, bucket)
        url: str = await self._s3.generate_presigned_url(
            "put_object", Params={"Bucket": name, "Key": key}, ExpiresIn=expires)
        return url

    async def presign_get(self, key: str, *, bucket: str | None = None,
                          expires: int = 3600) -> str | None:
        """A presigned GET URL for the key."""
        name = self._where(key, bucket)
        url: str = await self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": name, "Key": key}, ExpiresIn=expires)
        return url
