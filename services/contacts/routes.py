"""Upload paths: GET /common/upload-url (presigned PUT, or the API's own PUT endpoint)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request

from services.contacts.resources import ContactsResources
from services.contacts.settings import ContactsSettings
from services.shared.objects import (
    InvalidKey,
    ObjectStore,
    ObjectStoreError,
    open_object_store,
    validate_key,
)
from supervisor.api.auth import ApiContext, authorized
from supervisor.api.errors import ApiError
from supervisor.api.models import Error
from supervisor.api.openapi import ERRORS

router = APIRouter(tags=["contacts"])
PRESIGN_SECONDS = 3600


@asynccontextmanager
async def _store(ctx: ApiContext) -> AsyncIterator[tuple[ObjectStore, ContactsSettings]]:
    """The process's object store, or (an app run without the family's resources) one opened
    for this request from the family's settings."""
    loaded = ctx.runtime.family("contacts")
    res: ContactsResources | None = loaded.resources
    if res is not None:
        yield res.objects, res.settings
        return
    settings = loaded.settings or ContactsSettings.model_validate({})
    async with open_object_store(
            kind=settings.store_kind, data_dir=Path(ctx.runtime.config.data_dir),
            bucket=settings.s3_bucket, endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region) as objects:
        yield objects, settings


def upload_key(prefix: str, filename: str) -> str:
    """The object key of an upload: `{S3_UPLOAD_FILE_PATH_PRIFIX}/{filename}`."""
    name = filename.strip()
    if not name:
        raise ApiError(400, "ERR_INVALID_FILENAME: 'filename' is required: the name of the file "
                       "to upload, e.g. /common/upload-url?filename=contacts.csv", "filename")
    if "/" in name or "\\" in name or name in (".", "..") or len(name) > 255 or \
            not name.isprintable():
        raise ApiError(400, "ERR_INVALID_FILENAME: 'filename' must be a plain file name (no "
                       "'/', at most 255 printable characters), e.g. contacts.csv", "filename")
    key = f"{prefix}/{name}" if prefix else name
    try:
        return validate_key(key)
    except InvalidKey as exc:
        raise ApiError(400, f"ERR_INVALID_FILENAME: {exc}", "filename") from exc


RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERRORS, 409: {"model": Error, "description": "The key is taken by a folder or a file"},
    502: {"model": Error, "description": "The object store failed"}}


@router.get("/common/upload-url", responses=RESPONSES,
            summary="Where to PUT a file before importing it")
async def upload_url(request: Request, filename: str = "",
                     ctx: ApiContext = Depends(authorized)) -> dict[str, Any]:
    """A presigned S3 PUT URL, or (directory store) this API's PUT endpoint, and the key."""
    async with _store(ctx) as (objects, settings):
        key = upload_key(settings.upload_prefix, filename)
        url = await objects.presign_put(key, expires=PRESIGN_SECONDS)
    if url is not None:
        return {"upload_url": url, "s3_key": key, "method": "PUT",
                "expires_in": PRESIGN_SECONDS}
    own = str(request.url_for("put_object", key=key))
    return {"upload_url": own, "s3_key": key, "method": "PUT",
            "headers": ["X-API-Key"]}


@router.put("/common/objects/{key:path}", responses=RESPONSES,
            summary="Upload an object (directory store)")
async def put_object(key: str, request: Request,
                     ctx: ApiContext = Depends(authorized)) -> dict[str, Any]:
    """Stream the request body into the object store under `key`."""
    try:
        validate_key(key)
    except InvalidKey as exc:
        raise ApiError(400, f"ERR_INVALID_S3_KEY: {exc}", "key") from exc

    async def body() -> AsyncIterator[bytes]:
        async for chunk in request.stream():
            if chunk:
                yield chunk

    try:
        async with _store(ctx) as (objects, _):
            info = await objects.write(key, body(), content_type=request.headers.get(
                "content-type", "application/octet-stream"))
    except OSError as exc:  # the directory store: a folder where the file goes, or the reverse
        raise ApiError(409, f"ERR_OBJECT_CONFLICT: cannot store {key!r}: {exc.strerror}; "
                       "choose another key", "key") from exc
    except ObjectStoreError as exc:
        raise ApiError(502, f"ERR_OBJECT_STORE: {exc}") from exc
    return {"s3_key": info.key, "s3_bucket": info.bucket, "size": info.size, "success": True}
