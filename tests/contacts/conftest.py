"""Fixtures of the contacts family's tests: object stores (directory and moto S3)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aioboto3
import pytest

from services.shared.objects import ObjectStore, open_object_store
from tests.contacts.s3support import moto_server

BUCKET = "test-bucket"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server, one per test session."""
    with moto_server() as url:
        yield url


async def make_bucket(endpoint: str, bucket: str) -> None:
    """Create a bucket on the endpoint (it may exist already)."""
    async with aioboto3.Session().client("s3", endpoint_url=endpoint) as s3:
        try:
            await s3.create_bucket(Bucket=bucket)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass


@pytest.fixture(params=["directory", "s3"])
async def objects(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectStore]:
    """Each object store in turn: the directory store and S3 on moto, with a fresh bucket."""
    if request.param == "directory":
        async with open_object_store(kind="directory", data_dir=tmp_path, bucket=BUCKET) as st:
            yield st
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"b-{abs(hash(request.node.nodeid)) % 10**12}"
    await make_bucket(endpoint, bucket)
    async with open_object_store(kind="s3", data_dir=tmp_path, bucket=bucket,
                                 endpoint_url=endpoint, region="us-east-1") as st:
        yield st
