"""Upload paths: GET /common/upload-url (presigned PUT, or the API's own PUT endpoint)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request

from services.contacts.resources import ContactsResources
from services.shared.objects import InvalidKey, ObjectStoreError, validate_key
from supervisor.api.auth import ApiContext, authorized
from supervisor.api.errors import ApiError

router = APIRouter(tags=["contacts"])
PRESIGN_SECONDS = 3600


def _resources(ctx: ApiContext) -> ContactsResources:
    res: ContactsResources | None = ctx.runtime.family("contacts").resources
    if res is None:
        raise ApiError(503, "ERR_NOT_READY: the contacts family's object store is not open in "
                       "this process")
    return res


def upload_key(prefix: str, filename: str) -> str:
    """The object key of an upload: `{S3_UPLOAD_FILE_PATH_PRIFIX}/{filename}`."""
    name = filename.strip()
    if not name or "/" in name or "\\" in name or name in (".", "..") or len(name) > 255 or \
            not name.isprintable():
        raise ApiError(400, "ERR_INVALID_FILENAME: 'filename' must be a plain file name (no "
                       "'/', at most 255 printable characters), e.g. contacts.csv", "filename")
    key = f"{prefix}/{name}" if prefix else name
    try:
        return validate_key(key)
    except InvalidKey as exc:
        raise ApiError(400, f"ERR_INVALID_FILENAME: {exc}", "filename") from exc


@router.get("/common/upload-url", summary="Where to PUT a file before importing it")
async def upload_url(request: Request, filename: str = "",
                     ctx: ApiContext = Depends(authorized)) -> dict[str, Any]:
    """A presigned S3 PUT URL, or (directory store) this API's PUT endpoint, and the key."""
    res = _resources(ctx)
    key = upload_key(res.settings.upload_prefix, filename)
    url = await res.objects.presign_put(key, expires=PRESIGN_SECONDS)
    if url is not None:
        return {"upload_url": url, "s3_key": key, "method": "PUT",
                "expires_in": PRESIGN_SECONDS}
    own = str(request.url_for("put_object", key=key))
    return {"upload_url": own, "s3_key": key, "method": "PUT",
            "headers": ["X-API-Key"]}


@router.put("/common/objects/{key:path}", summary="Upload an object (directory store)")
async def put_object(key: str, request: Request,
                     ctx: ApiContext = Depends(authorized)) -> dict[str, Any]:
    """Stream the request body into the object store under `key`."""
    res = _resources(ctx)
    try:
        validate_key(key)
    except InvalidKey as exc:
        raise ApiError(400, f"ERR_INVALID_S3_KEY: {exc}", "key") from exc

    async def body() -> AsyncIterator[bytes]:
        async for chunk in request.stream():
            if chunk:
                yield chunk

    try:
        info = await res.objects.write(key, body(), content_type=request.headers.get(
            "content-type", "application/octet-stream"))
    except ObjectStoreError as exc:
        raise ApiError(502, f"ERR_OBJECT_STORE: {exc}") from exc
    return {"s3_key": info.key, "s3_bucket": info.bucket, "size": info.size, "success": True}
