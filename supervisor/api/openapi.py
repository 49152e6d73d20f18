"""OpenAPI pieces: documented error responses, request bodies, and the document itself."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from supervisor.api.auth import SECURITY_SCHEME
from supervisor.api.models import Error

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Error, "description": "Invalid request; the message names the field and fix"},
    401: {"model": Error, "description": "Missing or unknown X-API-Key"},
    403: {"model": Error, "description": "A read-only key on a route that changes something"},
    404: {"model": Error, "description": "No such job or schedule"},
    409: {"model": Error, "description": "Not possible in the current state"},
    413: {"model": Error, "description": "Request body over the size limit"},
    415: {"model": Error, "description": "Body is not JSON"},
    503: {"model": Error, "description": "Database unavailable; retry shortly"},
}


def body_of(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """`openapi_extra` describing a JSON body the route parses itself (see api.body)."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": ref}}}}


def build_openapi(
    app: FastAPI, models: list[type[BaseModel]], job_types: list[str],
) -> dict[str, Any]:
    """The document, with the self-parsed body models and the registered job types added."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description,
                      routes=app.routes, tags=app.openapi_tags)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    if "CreateJob" in schemas and job_types:
        schemas["CreateJob"]["properties"]["job_type"]["enum"] = job_types
    doc["components"]["securitySchemes"] = {"APIKeyHeader": SECURITY_SCHEME}
    for path, operations in doc["paths"].items():
        if path.startswith("/common/"):
            for operation in operations.values():
                operation["security"] = [{"APIKeyHeader": []}]
    app.openapi_schema = doc
    return doc
