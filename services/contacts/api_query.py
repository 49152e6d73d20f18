"""HTTP routes of exports and VQL: try a query (POST /common/{service}/query), get the file."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError

from services.contacts.query import fetch_page, search_page
from services.contacts.vql import Vql, VqlError
from services.shared.objects import ObjectNotFound, ObjectStoreError
from supervisor.api.auth import ApiContext, authorized
from supervisor.api.errors import ApiError
from supervisor.api.models import Error
from supervisor.api.openapi import ERRORS
from supervisor.jobtypes import describe_validation

FAMILY = "contacts"
router = APIRouter(prefix="/common", tags=["contacts"])


def _resources(ctx: ApiContext) -> Any:
    res = ctx.runtime.family(FAMILY).resources
    if res is None:
        raise ApiError(503, "ERR_NOT_READY: the contacts family has not opened its resources "
                       "in this process; retry in a moment")
    return res


async def _vql_body(request: Request) -> Vql:
    try:
        return Vql.model_validate_json((await request.body()) or b"{}")
    except ValidationError as exc:
        err = exc.errors()[0]
        if err["type"] == "json_invalid":
            raise ApiError(400, "ERR_INVALID_JSON: the body is not valid JSON; send one VQL "
                           "object", "body") from None
        path, message = describe_validation(exc, prefix="vql")
        raise ApiError(400, f"ERR_INVALID_VQL: {message}", path) from None


@router.post("/{service}/query", summary="Run a VQL query for one page of rows",
             responses=ERRORS)
async def query(service: str, request: Request,
                ctx: ApiContext = Depends(authorized)) -> JSONResponse:
    """Rows of select_columns (limit at most 100) and the cursor of the next page."""
    if service not in ("contact", "company"):
        raise ApiError(404, f"ERR_UNKNOWN_SERVICE: {service!r:.40} is not a service; use "
                       "/common/contact/query or /common/company/query", "service")
    vql = await _vql_body(request)
    res = ctx.runtime.family(FAMILY).resources  # None in an app without a daemon: PostgreSQL
    try:
        if res is not None and res.elastic is not None:
            index = res.contact_index if service == "contact" else res.company_index
            page = await search_page(res.elastic, index, vql, service)
        else:
            page = await fetch_page(getattr(res, "pool", None) or ctx.runtime.pool, vql, service)
    except VqlError as exc:
        raise ApiError(400, f"ERR_INVALID_VQL: {exc}", exc.path) from None
    return JSONResponse({"data": page.rows, "cursor": page.cursor, "success": True})


def _export_key(row: Any, uuid: UUID) -> tuple[str, str | None]:
    """(object key, bucket) of a finished export job, or the ApiError saying why not."""
    if row is None:
        raise ApiError(404, f"ERR_JOB_NOT_FOUND: there is no job {uuid}; list jobs with "
                       "POST /common/jobs", "uuid")
    if row["job_type"] != "export_csv_file":
        raise ApiError(400, f"ERR_NOT_AN_EXPORT: job {uuid} is a {row['job_type']} job; only "
                       "export_csv_file jobs have a file to download", "uuid")
    response = row["job_response"] or {}
    data = row["data"] or {}
    response = json.loads(response) if isinstance(response, str) else response
    data = json.loads(data) if isinstance(data, str) else data
    if row["status"] != "completed" or not response.get("s3_key"):
        raise ApiError(409, f"ERR_EXPORT_NOT_READY: job {uuid} is {row['status']}; download it "
                       "once it is completed", "uuid")
    return str(response["s3_key"]), data.get("s3_bucket")


DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    200: {"description": "the CSV file (directory store)",
          "content": {"text/csv": {"schema": {"type": "string"}}}},
    307: {"description": "redirect to a presigned GET of the file (S3)"},
    410: {"model": Error, "description": "the file is no longer in the object store"},
    502: {"model": Error, "description": "the object store failed"},
}


@router.get("/jobs/{uuid}/download", summary="Download an export's CSV file",
            response_model=None, responses=DOWNLOAD_RESPONSES)
async def download(uuid: UUID, ctx: ApiContext = Depends(authorized)) -> Response:
    """A redirect to a presigned GET (S3), or the file itself (directory store)."""
    key, bucket = _export_key(await ctx.runtime.jobs.get(uuid), uuid)
    objects = _resources(ctx).objects
    try:
        await objects.stat(key, bucket=bucket)
        url = await objects.presign_get(key, bucket=bucket, expires=900)
    except ObjectNotFound:
        raise ApiError(410, f"ERR_EXPORT_GONE: the file {key} of job {uuid} is no longer in "
                       "the object store; run the export again", "uuid") from None
    except ObjectStoreError as exc:
        raise ApiError(502, f"ERR_OBJECT_STORE: {exc}") from None
    if url is not None:
        return RedirectResponse(url, status_code=307)
    name = quote(key.rsplit("/", 1)[-1])
    return StreamingResponse(objects.read(key, bucket=bucket), media_type="text/csv",
                             headers={"Content-Disposition": f"attachment; filename=\"{name}\""})
