"""Elasticsearch: the async client from ELASTIC_HOST, and a bulk helper that reports errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from elasticsearch import AsyncElasticsearch

MAX_REPORTED = 10  # item errors quoted in the exception; the count covers them all


class BulkItemErrors(Exception):
    """Some items of a bulk request failed; names how many and quotes the first ones."""

    def __init__(self, errors: list[dict[str, Any]], total: int) -> None:
        quoted = "; ".join(
            f"{e.get('_index')}/{e.get('_id')}: {e.get('status')} "
            f"{(e.get('error') or {}).get('type', '')} {(e.get('error') or {}).get('reason', '')}"
            for e in errors[:3]
        )
        super().__init__(f"{len(errors)} of {total} bulk items failed: {quoted}")
        self.errors = errors[:MAX_REPORTED]
        self.failed = len(errors)
        self.total = total


def host_url(host: str) -> str:
    """ELASTIC_HOST as a URL: a bare host[:port] gets http:// and port 9200."""
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = f"http://{host}"
    scheme, rest = host.split("://", 1)
    if ":" not in rest.split("/", 1)[0].rsplit("@", 1)[-1]:
        name, _, path = rest.partition("/")
        rest = f"{name}:9200" + (f"/{path}" if path else "")
    return f"{scheme}://{rest}"


@asynccontextmanager
async def open_elastic(host: str, **options: Any) -> AsyncIterator[AsyncElasticsearch]:
    """An AsyncElasticsearch client for ELASTIC_HOST (comma separated), closed at the end."""
    hosts = [host_url(h) for h in host.split(",") if h.strip()]
    client = AsyncElasticsearch(hosts=hosts, **options)
    try:
        yield client
    finally:
        await client.close()


def index_operations(index: str, docs: Iterable[Mapping[str, Any]],
                     id_field: str = "uuid") -> list[dict[str, Any]]:
    """Bulk body lines that index (create or replace) each document under its id field."""
    ops: list[dict[str, Any]] = []
    for doc in docs:
        ops.append({"index": {"_index": index, "_id": str(doc[id_field])}})
        ops.append(dict(doc))
    return ops


def item_errors(response: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The failed items of a bulk response, each with its action's index, id, status and error."""
    if not response.get("errors"):
        return []
    failed = []
    for item in response.get("items", []):
        result = next(iter(item.values()))
        if "error" in result:
            failed.append(result)
    return failed


async def bulk(client: AsyncElasticsearch, operations: list[dict[str, Any]], *,
               refresh: bool = False) -> int:
    """Send one bulk request; returns the item count, raises BulkItemErrors if any item failed."""
    if not operations:
        return 0
    resp = await client.bulk(operations=operations, refresh=refresh)
    body: Mapping[str, Any] = resp.body
    failed = item_errors(body)
    total = len(body.get("items", []))
    if failed:
        raise BulkItemErrors(failed, total)
    return total
