"""Error bodies shaped like the Jobs API document's, and the handlers that produce them."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from supervisor.store.db import TRANSIENT_DB_ERRORS

log = logging.getLogger("supervisor.api")

# The Jobs API document's errors, word for word: clients match on them.
MISSING_JOB_TYPE = (
    "ERR_MISSING_JOB_TYPE: the 'job_type' field is required; specify a valid job type such as "
    "'insert_csv_file' or 'export_csv_file'"
)
MISSING_JOB_DATA = (
    "ERR_MISSING_JOB_DATA: the 'job_data' field is required; include the necessary payload for "
    "job execution"
)
INVALID_RETRY_COUNT = (
    "ERR_INVALID_RETRY_COUNT: 'retry_count' must be a non-negative integer; use 0 for no retries "
    "or a positive number for retry attempts"
)
DOCUMENTED = frozenset({MISSING_JOB_TYPE, MISSING_JOB_DATA, INVALID_RETRY_COUNT})
UNKNOWN_JOB_TYPE = "ERR_UNKNOWN_JOB_TYPE"
# One code per mistake on every endpoint: a schedule's `data` is the job data of each run.
_SAME_AS = {"data": "job_data"}


def code_for(field: str | None, kind: str = "INVALID") -> str:
    """The ERR_ code for a bad (kind INVALID) or absent (kind MISSING) field, jobs or schedules."""
    top = (field or "body").split(".")[0]
    return f"ERR_{kind}_{_SAME_AS.get(top, top).upper()}"


def rule_code(field: str | None) -> str:
    """The code for a job-type rule refusal: the registry names `job_type` for an unknown type."""
    return UNKNOWN_JOB_TYPE if field == "job_type" else code_for(field)


def describe(err: Mapping[str, Any]) -> str:
    """pydantic's message for one error, as the rest of a sentence (patterns kept verbatim)."""
    if err["type"] == "string_pattern_mismatch":
        return f"must match the pattern {err['ctx']['pattern']}"
    msg = str(err["msg"])
    return msg[:1].lower() + msg[1:]


UNSTORABLE = ("ERR_INVALID_VALUE: the request holds a value PostgreSQL cannot store; remove NUL "
              "characters and non-finite numbers (NaN, Infinity) and keep whole numbers from 0 to "
              "2147483647")


class ApiError(Exception):
    """A request the API refuses: HTTP status, message (with its ERR_ code) and the field."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def error_body(message: str, field: str | None = None) -> dict[str, Any]:
    """`{"error": ..., "success": false}`; our own errors also carry the field they are about."""
    body: dict[str, Any] = {"error": message, "success": False}
    if field is not None and message not in DOCUMENTED:
        body["field"] = field
    return body


def error_response(status: int, message: str, field: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """An error as a JSON response."""
    return JSONResponse(error_body(message, field), status_code=status, headers=headers)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message, exc.field)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        message = (f"ERR_NOT_FOUND: there is no endpoint {request.method} {request.url.path}; "
                   "the endpoints are listed at /docs")
    elif exc.status_code == 405:
        allowed = next((v for k, v in headers.items() if k.lower() == "allow"), "")
        message = (f"ERR_METHOD_NOT_ALLOWED: {request.url.path} does not accept "
                   f"{request.method}; use {allowed or 'another method'}")
    else:
        message = f"ERR_HTTP_{exc.status_code}: {exc.detail}"
    return error_response(exc.status_code, message, headers=headers)


async def _param_error(request: Request, exc: Exception) -> JSONResponse:
    """Path and query parameters FastAPI checked (bodies are parsed by supervisor.api.body)."""
    assert isinstance(exc, RequestValidationError)
    err = exc.errors()[0]
    where, name = (str(err["loc"][0]), str(err["loc"][-1])) if err["loc"] else ("request", "?")
    if name == "uuid":
        message = (f"ERR_INVALID_UUID: '{name}' in the {where} is not a job uuid; use the uuid "
                   "a create or list response returned, e.g. 3f2b0c1e-7a9d-4c1b-9e8f-0a1b2c3d4e5f")
    else:
        got = "" if err["type"] == "missing" else f" (got {err.get('input')!r:.60})"
        message = f"{code_for(name)}: '{name}' in the {where}: {describe(err)}{got}"
    return error_response(400, message, name)


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    # Values PostgreSQL refuses to store are the client's; its wording ("query argument $3")
    # means nothing to them, so it goes to the log and the answer says what to change.
    log.info("a value PostgreSQL refused", extra={
        "action": "api_bad_value", "path": request.url.path, "error": str(exc)})
    return error_response(400, UNSTORABLE)


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable during a request", extra={
        "action": "api_db_unavailable", "path": request.url.path, "error": str(exc)})
    return error_response(503, "ERR_DATABASE_UNAVAILABLE: the database did not answer; retry "
                          "shortly", headers={"Retry-After": "5"})


def install_handlers(app: FastAPI) -> None:
    """Every refusal answers in the documented error shape."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _param_error)
    app.add_exception_handler(asyncpg.DataError, _data_error)
    for exc_type in TRANSIENT_DB_ERRORS:
        if issubclass(exc_type, Exception):
            app.add_exception_handler(exc_type, _unavailable)
