"""Request bodies: parse JSON into a model, and turn every problem into a 400 naming the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from supervisor.api.errors import ApiError, code_for, describe

M = TypeVar("M", bound=BaseModel)
# Maps one pydantic error on a field to the API's message for it (None: use the generic one).
FieldRule = Callable[[ErrorDetails], str | None]


def _media_type_ok(request: Request) -> bool:
    # Exactly application/json, parameters allowed (charset=utf-8); a missing header is JSON.
    ctype = request.headers.get("content-type")
    return ctype is None or ctype.split(";", 1)[0].strip().lower() == "application/json"


async def parse_body(request: Request, model: type[M], rules: dict[str, FieldRule]) -> M:
    """The request's JSON body as `model`, or ApiError(400/415) saying what to fix."""
    body = await request.body()
    if not _media_type_ok(request):
        got = request.headers["content-type"]
        raise ApiError(415, "ERR_UNSUPPORTED_MEDIA_TYPE: send the body as JSON with the header "
                       f"'Content-Type: application/json' (got {got!r:.60})", "Content-Type")
    try:
        # An empty body is an empty object: every field then gets its default or 'required'.
        return model.model_validate_json(body if body.strip() else b"{}")
    except ValidationError as exc:
        raise translate(exc, model, rules) from None


def translate(
    exc: ValidationError, model: type[BaseModel], rules: dict[str, FieldRule],
) -> ApiError:
    """The most useful single message for a failed body, documented errors first."""
    errors = exc.errors()
    top = errors[0]
    if top["type"] == "json_invalid":
        detail = str(top["ctx"]["error"]) if "ctx" in top else top["msg"]
        return ApiError(400, f"ERR_INVALID_JSON: the request body is not valid JSON ({detail}); "
                        "send one JSON object", "body")
    if not top["loc"]:
        return ApiError(400, "ERR_INVALID_BODY: the request body must be a JSON object, e.g. "
                        f"{{{', '.join(repr(f) + ': ...' for f in _required(model))}}}", "body")
    order = list(model.model_fields)
    known = [e for e in errors if e["type"] != "extra_forbidden"]
    known.sort(key=lambda e: (_rank(e, rules), order.index(str(e["loc"][0]))))
    if known:
        err = known[0]
        name = str(err["loc"][0])
        rule = rules.get(name)
        message = (rule(err) if rule else None) or _generic(err)
        return ApiError(400, message, _path(err))
    unknown = [str(e["loc"][0]) for e in errors]
    return ApiError(400, f"ERR_UNKNOWN_FIELD: unknown field(s) {', '.join(map(repr, unknown))}; "
                    f"this endpoint accepts only: {', '.join(order)}", unknown[0])


def _rank(err: ErrorDetails, rules: dict[str, FieldRule]) -> int:
    """Fields with a documented error come first, so clients see the documented code."""
    return 0 if str(err["loc"][0]) in rules else 1


def _required(model: type[BaseModel]) -> list[str]:
    return [n for n, f in model.model_fields.items() if f.is_required()] or ["..."]


def _path(err: ErrorDetails) -> str:
    if err["type"] == "unstorable":  # the value deep inside the field (supervisor.submit)
        return str((err.get("ctx") or {})["where"])
    return ".".join(str(p) for p in err["loc"])


def _generic(err: ErrorDetails) -> str:
    name = _path(err)
    if err["type"] == "missing":
        return f"{code_for(name, 'MISSING')}: the '{name}' field is required"
    return f"{code_for(name)}: '{name}': {describe(err)} (got {_short(err.get('input'))})"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_missing(err: ErrorDetails) -> bool:
    """The field is absent, null or an empty string: the document's 'required' case."""
    return err["type"] == "missing" or err.get("input") in (None, "")
