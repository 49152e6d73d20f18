"""The object stores behave alike: streaming read and write, ranged reads, stat, list, delete."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import aclosing

import httpx
import pytest

from services.shared.objects import (
    BucketNotFound,
    InvalidKey,
    ObjectNotFound,
    ObjectStore,
    read_bytes,
    validate_bucket,
    validate_key,
    write_bytes,
)
from services.shared.objects_s3 import PART_SIZE


@pytest.mark.parametrize("key", ["../x.csv", "a/../../x", "/etc/passwd", "a//b", "a/./b", "",
                                 "a\\b", "dir/", "x\x00y"])
def test_bad_keys_are_refused_with_a_reason(key: str) -> None:
    with pytest.raises(InvalidKey) as err:
        validate_key(key)
    assert str(err.value)


def test_good_keys_and_buckets_pass() -> None:
    assert validate_key("uploads/2025/contacts.csv.gz") == "uploads/2025/contacts.csv.gz"
    assert validate_bucket("my-bucket.eu") == "my-bucket.eu"
    with pytest.raises(InvalidKey):
        validate_bucket("Bad_Bucket")


async def test_write_read_stat_list_delete(objects: ObjectStore) -> None:
    await write_bytes(objects, "uploads/a.csv", b"first_name\nann\n")
    await write_bytes(objects, "uploads/b.csv", b"x" * 10)
    await write_bytes(objects, "other/c.csv", b"y")
    assert await read_bytes(objects, "uploads/a.csv") == b"first_name\nann\n"
    info = await objects.stat("uploads/b.csv")
    assert (info.key, info.size, info.bucket) == ("uploads/b.csv", 10, objects.default_bucket)
    listed = [i.key async for i in objects.list("uploads/")]
    assert listed == ["uploads/a.csv", "uploads/b.csv"]
    await objects.delete("uploads/a.csv")
    await objects.delete("uploads/a.csv")  # missing is fine
    with pytest.raises(ObjectNotFound):
        await objects.stat("uploads/a.csv")


async def test_ranged_read_starts_at_the_offset(objects: ObjectStore) -> None:
    await write_bytes(objects, "r.bin", bytes(range(256)) * 4)
    got = b"".join([c async for c in objects.read("r.bin", start=1000, chunk_size=7)])
    assert got == (bytes(range(256)) * 4)[1000:]


async def test_missing_key_and_bucket_are_told_apart(objects: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound):
        await objects.stat("nope.csv")
    with pytest.raises(ObjectNotFound):
        [c async for c in objects.read("nope.csv")]
    with pytest.raises(BucketNotFound):
        await objects.stat("x.csv", bucket="no-such-bucket")
    with pytest.raises(BucketNotFound):
        [c async for c in objects.read("x.csv", bucket="no-such-bucket")]


async def test_large_stream_is_written_in_parts(objects: ObjectStore) -> None:
    chunks = [bytes([n]) * (1024 * 1024) for n in range(PART_SIZE // (1024 * 1024) + 3)]

    async def stream() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    info = await objects.write("big.bin", stream())
    assert info.size == sum(map(len, chunks))
    digest = hashlib.sha256()
    async with aclosing(objects.read("big.bin")) as body:
        async for c in body:
            digest.update(c)
    assert digest.hexdigest() == hashlib.sha256(b"".join(chunks)).hexdigest()


async def test_presigned_put_uploads_on_s3(objects: ObjectStore) -> None:
    url = await objects.presign_put("up/p.csv")
    if objects.kind == "directory":
        assert url is None
        return
    assert url is not None
    async with httpx.AsyncClient() as client:
        resp = await client.put(url, content=b"a,b\n1,2\n")
    assert resp.status_code == 200
    assert await read_bytes(objects, "up/p.csv") == b"a,b\n1,2\n"
