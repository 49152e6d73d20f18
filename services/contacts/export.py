"""export_csv_file: the rows a VQL query selects, streamed as CSV into the object store."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from services.contacts.csvcells import cell_text, csv_line
from services.contacts.export_sql import csv_pages
from services.contacts.vql import Vql, VqlError, check
from services.contacts.vql.fields import ES_INDEXES, fields_of
from services.contacts.vql.models import OrderBy
from services.contacts.vql.sql import output_columns
from services.shared.objects import BucketNotFound, InvalidKey, ObjectStore, validate_bucket
from supervisor.errors import PermanentError
from supervisor.jobtypes import JobContext, JobDefaults

log = logging.getLogger("supervisor.contacts.export")
CHUNK_BYTES = 256 * 1024  # what is handed to the object store at a time


class ExportPayload(BaseModel):
    """job_data of export_csv_file, checked in full when the job is created."""

    model_config = ConfigDict(extra="forbid")
    service: str
    vql: Vql
    s3_bucket: str | None = Field(None, max_length=63)

    @field_validator("service")
    @classmethod
    def _service(cls, value: str) -> str:
        if value not in ("contact", "company"):
            raise ValueError(f"service {value!r:.40} is not one of contact, company")
        return value

    @field_validator("vql")
    @classmethod
    def _vql(cls, value: Vql, info: ValidationInfo) -> Vql:
        service = info.data.get("service")
        if service is not None:
            try:
                check(value, service, export=True)
            except VqlError as exc:
                raise PydanticCustomError("invalid_vql", "{message}",
                                          {"message": str(exc)}) from None
        return value

    @field_validator("s3_bucket")
    @classmethod
    def _bucket(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                validate_bucket(value)
            except InvalidKey as exc:
                raise ValueError(str(exc)) from None
        return value


@dataclass
class ExportEnv:
    """What an export needs from its family: the store and the settings that shape the file."""

    objects: ObjectStore
    batch_size: int = 500
    prefix: str = "uploads"
    neutralise: bool = True
    es: Any = None  # an AsyncElasticsearch when ELASTIC_HOST is set
    indexes: dict[str, str] = field(default_factory=lambda: dict(ES_INDEXES))


def export_query(vql: Vql) -> Vql:
    """The query as an export runs it: sorted by uuid desc, from the first row."""
    return vql.model_copy(update={"order_by": [OrderBy(order_by="uuid", order_direction="desc")],
                                  "cursor": None, "page": None})


def object_key(prefix: str, job_uuid: Any) -> str:
    """`{S3_UPLOAD_FILE_PATH_PRIFIX}/{job_uuid}.csv`."""
    prefix = prefix.strip("/")
    return f"{prefix}/{job_uuid}.csv" if prefix else f"{job_uuid}.csv"


class Progress:
    """Rows written so far, reported to the job after every page."""

    def __init__(self, ctx: JobContext[Any] | None, total: int | None) -> None:
        self.rows = 0
        self._ctx, self._total = ctx, total

    async def add(self, n: int) -> None:
        """Count a page; stop the stream if the job must end (the upload is then aborted)."""
        self.rows += n
        if self._ctx is not None:
            await self._ctx.progress(self.rows, self._total, "rows written")
            if self._ctx.should_stop():
                self._ctx.stop()


async def _chunked(lines: AsyncIterator[str]) -> AsyncGenerator[bytes, None]:
    buf: list[str] = []
    size = 0
    async for text in lines:
        buf.append(text)
        size += len(text)
        if size >= CHUNK_BYTES:
            yield "".join(buf).encode()
            buf, size = [], 0
    if buf:
        yield "".join(buf).encode()


async def sql_lines(db: asyncpg.Pool, payload: ExportPayload, env: ExportEnv,
                    progress: Progress) -> AsyncGenerator[str, None]:
    """The header, then the rows as CSV lines, newest uuid first, a page at a time.

    Cursors in read-only REPEATABLE READ transactions on one snapshot (export_sql): the file
    is the rows of one instant (rows written meanwhile neither appear nor shift the pages), and
    PostgreSQL reads the table in one scan and one sort, as COPY TO does, instead of one
    uuid-index walk per page, which costs a random heap read per row once the table outgrows
    the cache.
    """
    vql, service = export_query(payload.vql), payload.service
    yield csv_line([c.header for c in output_columns(vql, fields_of(service))])
    pages = csv_pages(db, vql, service, neutralise=env.neutralise, batch=env.batch_size)
    try:
        async for lines in pages:
            yield "\r\n".join(lines) + "\r\n"
            await progress.add(len(lines))
    finally:
        await pages.aclose()


def _page(env: ExportEnv, cap: int | None, done: int) -> int:
    return env.batch_size if cap is None else max(0, min(env.batch_size, cap - done))


async def es_lines(es: Any, payload: ExportPayload, env: ExportEnv,
                   progress: Progress) -> AsyncGenerator[str, None]:
    """The same file from Elasticsearch: search_after pages sorted by uuid desc."""
    from services.contacts.vql import sort_keys
    from services.contacts.vql.es import search_body

    vql, service = export_query(payload.vql), payload.service
    cols = output_columns(vql, fields_of(service))
    yield csv_line([c.header for c in cols])
    cap = vql.limit or None
    while (size := _page(env, cap, progress.rows)) > 0:
        body = search_body(vql, service, sort_keys(vql, service), size=size)
        hits = (await es.search(index=env.indexes[service], body=body))["hits"]["hits"]
        if not hits:
            break
        yield "".join(csv_line([cell_text(h["_source"].get(c.header), formulas_off=env.neutralise)
                                for c in cols]) for h in hits)
        await progress.add(len(hits))
        vql = vql.model_copy(update={"cursor": list(hits[-1]["sort"])})


async def export(db: asyncpg.Pool, env: ExportEnv, payload: ExportPayload, job_uuid: Any,
                 ctx: JobContext[Any] | None = None) -> dict[str, Any]:
    """Write the file under its key; the job_response fields (s3_key, messages, rows)."""
    key = object_key(env.prefix, job_uuid)
    progress = Progress(ctx, payload.vql.limit or None)
    if env.es is not None:
        lines = es_lines(env.es, payload, env, progress)
    else:
        lines = sql_lines(db, payload, env, progress)
    chunks = _chunked(lines)
    try:
        await env.objects.write(key, chunks, bucket=payload.s3_bucket, content_type="text/csv")
    except BucketNotFound as exc:
        raise PermanentError(f"{exc}; create it or give another s3_bucket") from exc
    finally:  # hand the connection back now, not when the generators are collected
        await chunks.aclose()
        await lines.aclose()
    log.info("export written", extra={"action": "export_written", "job": str(job_uuid),
                                      "rows": progress.rows, "key": key})
    return {"s3_key": key, "messages": f"{progress.rows} rows exported to {key}",
            "rows": progress.rows}


class ExportCsvFile:
    """Export the contacts or companies a VQL query selects to a CSV in object storage."""

    name = "export_csv_file"
    payload_model = ExportPayload
    defaults = JobDefaults(retry_count=2, retry_interval=30, timeout=6 * 3600)

    async def run(self, ctx: JobContext[Any], payload: ExportPayload) -> dict[str, Any]:
        """Stream the export; a retry starts the file again (the failed upload was aborted)."""
        return await export(ctx.db, export_env(ctx.resources), payload, ctx.uuid, ctx)


def export_env(resources: Any) -> ExportEnv:
    """The family's resources (ContactsResources) as what an export needs."""
    settings = resources.settings
    return ExportEnv(
        objects=resources.objects,
        batch_size=settings.batch_size_for_insertion,
        prefix=settings.upload_prefix,
        neutralise=settings.export_csv_neutralise_formulas,
        es=resources.elastic,
        indexes={"contact": resources.contact_index, "company": resources.company_index},
    )
