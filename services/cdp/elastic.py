"""Customer data in Elasticsearch: Tracardi's index names and the documents written there.

Index names: `tracardi-event-<year>-<month>` (one per month, read as `tracardi-event-*`),
`tracardi-session`, `tracardi-profile`, each with the `prod-` prefix when PRODUCTION=yes.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from elasticsearch import AsyncElasticsearch, ConnectionError, ConnectionTimeout

from services.cdp.model import Event
from services.shared.elastic import host_url
from supervisor.errors import SupervisorError

EVENT, SESSION, PROFILE = "tracardi-event", "tracardi-session", "tracardi-profile"
# Ids of heartbeat events are derived from what they answer, so an overlapping run's `create`
# of the same event conflicts instead of writing it twice.
_IDS = uuid.UUID("6f0e2c1a-4b7d-4c59-9a3e-2d8f1b0c7e55")


class ElasticUnavailable(SupervisorError):
    """Elasticsearch could not be reached; the message names the address tried."""


def hosts(value: str) -> list[str]:
    """Every URL of a comma-separated ELASTIC_HOST."""
    return [host_url(h) for h in value.split(",") if h.strip()]


@dataclass(frozen=True)
class Indices:
    """The index names of one context (production or not)."""

    production: bool = False

    @property
    def prefix(self) -> str:
        """`prod-` for production data, else nothing."""
        return "prod-" if self.production else ""

    def event_write(self, moment: datetime) -> str:
        """The monthly index an event of this time is written to."""
        return f"{self.prefix}{EVENT}-{moment.year}-{moment.month}"

    @property
    def event_read(self) -> str:
        """Every monthly event index."""
        return f"{self.prefix}{EVENT}-*"

    @property
    def session(self) -> str:
        """The session index."""
        return f"{self.prefix}{SESSION}"

    @property
    def profile(self) -> str:
        """The profile index."""
        return f"{self.prefix}{PROFILE}"


def derived_id(kind: str, subject: str, stamp: datetime) -> str:
    """The id of the heartbeat event answering (kind, subject, stamp): the same every run."""
    return str(uuid.uuid5(_IDS, f"{kind}|{subject}|{stamp.isoformat()}"))


def event_operations(indices: Indices, events: Iterable[Event], *,
                     create: bool = False) -> list[dict[str, Any]]:
    """Bulk lines writing events to their monthly indexes (`create` refuses existing ids)."""
    ops: list[dict[str, Any]] = []
    for e in events:
        if not e.persistent:
            continue
        action = "create" if create else "index"
        ops.append({action: {"_index": indices.event_write(e.insert_time), "_id": e.id}})
        ops.append(json.loads(e.raw) if e.raw is not None else e.document())
    return ops


def document_operations(index: str, docs: Iterable[Mapping[str, Any]],
                        action: str = "index") -> list[dict[str, Any]]:
    """Bulk lines writing session or profile documents under their `id` (`create` leaves
    an existing one alone)."""
    ops: list[dict[str, Any]] = []
    for doc in docs:
        ops.append({action: {"_index": index, "_id": str(doc["id"])}})
        ops.append(dict(doc))
    return ops


def update_operations(index: str, ids: Iterable[str],
                      partial: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Bulk lines merging the same partial document into each id."""
    ops: list[dict[str, Any]] = []
    for doc_id in ids:
        ops.append({"update": {"_index": index, "_id": doc_id}})
        ops.append({"doc": dict(partial)})
    return ops


def bulk_outcome(body: Mapping[str, Any]) -> tuple[int, int, list[str]]:
    """(written, conflicts, other errors) of a bulk response; a 409 is an earlier run's, and
    an update of a session or profile the index does not hold (404) is no error."""
    written = conflicts = 0
    errors: list[str] = []
    for item in body.get("items", []):
        result = next(iter(item.values()))
        status = int(result.get("status", 500))
        if status < 300:
            written += 1
        elif status == 409:
            conflicts += 1
        elif status == 404 and "update" in item:
            continue
        else:
            err = result.get("error") or {}
            errors.append(f"{result.get('_index')}/{result.get('_id')}: {status} "
                          f"{err.get('type', '')} {err.get('reason', '')}".strip())
    return written, conflicts, errors


class Elastic:
    """The client, the index names and the address, with errors that name the address."""

    def __init__(self, client: AsyncElasticsearch, indices: Indices, address: str) -> None:
        self.client = client
        self.indices = indices
        self.address = address

    def unavailable(self, exc: BaseException) -> ElasticUnavailable:
        """The error for a failed request, naming where it went."""
        return ElasticUnavailable(f"Elasticsearch at {self.address} is unreachable "
                                  f"({type(exc).__name__}: {exc}); check ELASTIC_HOST")

    async def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        """One search; an unreachable server raises ElasticUnavailable."""
        try:
            resp = await self.client.search(index=index, body=body)
        except (ConnectionError, ConnectionTimeout) as exc:
            raise self.unavailable(exc) from exc
        result: dict[str, Any] = resp.body
        return result

    async def bulk(self, operations: list[dict[str, Any]]) -> tuple[int, int]:
        """Send bulk lines; returns (written, conflicts), raises on any other item error."""
        if not operations:
            return 0, 0
        try:
            resp = await self.client.bulk(operations=operations)
        except (ConnectionError, ConnectionTimeout) as exc:
            raise self.unavailable(exc) from exc
        written, conflicts, errors = bulk_outcome(resp.body)
        if errors:
            raise SupervisorError(f"{len(errors)} bulk item(s) failed at {self.address}: "
                                  + "; ".join(errors[:3]))
        return written, conflicts


@asynccontextmanager
async def open_elastic(elastic_host: str, production: bool) -> AsyncIterator[Elastic]:
    """An Elastic for ELASTIC_HOST (no request is made until one is needed); closed at exit."""
    urls = hosts(elastic_host)
    # The transport logs every retried request with a traceback; our error says it once.
    logging.getLogger("elastic_transport").setLevel(logging.ERROR)
    client = AsyncElasticsearch(hosts=urls, request_timeout=10, retry_on_timeout=False,
                                max_retries=1)
    try:
        yield Elastic(client, Indices(production), ", ".join(urls))
    finally:
        await client.close()
