"""Run a VQL query for one page of rows: on PostgreSQL, or on Elasticsearch when configured."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.contacts.vql import Vql, check, sort_keys
from services.contacts.vql.es import DEFAULT_SIZE, search_body
from services.contacts.vql.fields import fields_of
from services.contacts.vql.sql import output_columns, rows_query


@dataclass
class Page:
    """Rows of one page, and the cursor of the next one (None on the last page)."""

    rows: list[dict[str, Any]]
    cursor: list[Any] | None


def jsonable(value: Any) -> Any:
    """A column value as JSON: uuids as text, times in ISO 8601."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def default_columns(vql: Vql, service: str) -> Vql:
    """The query with every own column selected when it names none."""
    if vql.select_columns:
        return vql
    own = [f.name for f in fields_of(service).values() if f.table == "t"]
    return vql.model_copy(update={"select_columns": own})


HAS_TRIGRAM = "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')"


async def fetch_page(db: asyncpg.Pool | asyncpg.Connection, vql: Vql, service: str) -> Page:
    """One page of `vql` from PostgreSQL (validated first; VqlError names a bad part)."""
    check(vql, service, export=False)
    vql = default_columns(vql, service)
    fields = fields_of(service)
    keys = sort_keys(vql, service)
    limit = vql.limit or DEFAULT_SIZE
    q = rows_query(vql, service, fields, keys, limit,
                   trigram=bool(await db.fetchval(HAS_TRIGRAM)))
    records = await db.fetch(q.sql, *q.args)
    cols = output_columns(vql, fields)
    rows = [{c.header: jsonable(r[f"c{i}"]) for i, c in enumerate(cols)} for r in records]
    cursor = None
    if len(records) == limit:
        last = records[-1]
        cursor = [jsonable(last[f"k{i}"]) for i in range(len(keys))]
    return Page(rows, cursor)


async def search_page(es: Any, index: str, vql: Vql, service: str) -> Page:
    """One page of `vql` from Elasticsearch (`es` an AsyncElasticsearch)."""
    check(vql, service, export=False)
    vql = default_columns(vql, service)
    body = search_body(vql, service, sort_keys(vql, service))
    resp = await es.search(index=index, body=body)
    hits = resp["hits"]["hits"]
    cols = output_columns(vql, fields_of(service))
    rows = [{c.header: h["_source"].get(c.header) for c in cols} for h in hits]
    cursor = list(hits[-1]["sort"]) if hits and len(hits) == body["size"] else None
    return Page(rows, cursor)
