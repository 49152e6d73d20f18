"""Against a real Elasticsearch, only when ELASTIC_HOST is set (none can run on these machines).

The test writes under its own session and profile ids into the `tracardi-*` indexes of the
server (the non-production ones) and deletes what it wrote.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.cdp.elastic import document_operations, event_operations, open_elastic
from services.cdp.heartbeat.es import run_es
from services.cdp.heartbeat.params import HeartbeatParams
from services.cdp.model import INTERNAL_SOURCE_ID, Event
from services.cdp.store import CdpStore

pytestmark = pytest.mark.skipif(
    not os.environ.get("ELASTIC_HOST"),
    reason="ELASTIC_HOST is not set: no Elasticsearch server to test against")


async def test_visit_end_on_elasticsearch_emits_once(cdp: CdpStore) -> None:
    now = datetime.now(UTC)
    sid, pid = f"live-{uuid.uuid4().hex[:8]}", f"live-p-{uuid.uuid4().hex[:8]}"
    quiet = now - timedelta(minutes=30)
    events = [Event(str(uuid.uuid4()), "visit-started", quiet, INTERNAL_SOURCE_ID, sid, pid),
              Event(str(uuid.uuid4()), "page-view", quiet, "web", sid, pid)]
    params = HeartbeatParams.model_validate(
        {"qualify_by": "visit-end", "range": "now-1h|now", "skip_seconds": 900})
    async with open_elastic(os.environ["ELASTIC_HOST"], False) as es:
        await es.bulk(event_operations(es.indices, events) + document_operations(
            es.indices.session, [{"id": sid, "metadata": {"status": "active"}}]))
        await es.client.indices.refresh(index=f"{es.indices.event_read},{es.indices.session}")
        try:
            first = await run_es(es, cdp, params, now)
            await es.client.indices.refresh(index=es.indices.event_read)
            second = await run_es(es, cdp, params, now)
            assert first.emitted >= 1 and second.emitted == 0
            session = await es.client.get(index=es.indices.session, id=sid)
            assert session["_source"]["metadata"]["status"] == "ended"
        finally:
            await es.client.delete_by_query(
                index=es.indices.event_read, query={"term": {"session.id": sid}}, refresh=True)
            await es.client.options(ignore_status=404).delete(index=es.indices.session, id=sid)
