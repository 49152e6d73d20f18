"""The heartbeat as a daemon job: its job_response, and Elasticsearch configured but away."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import asyncpg

from services.cdp.store import CdpStore
from supervisor.config import Config
from supervisor.daemon import Daemon
from supervisor.families import discover
from supervisor.store.jobs import JobStore
from tests.conftest import make_config
from tests.helpers import eventually, running_daemon
from tests.integration.cdp.timeline import HB, ev, load


async def finished(store: JobStore, uuid: object) -> asyncpg.Record:
    async def done() -> bool:
        row = await store.get(uuid)
        return row is not None and row["status"] in ("completed", "failed", "dead")

    await eventually(done, what="job finished")
    row = await store.get(uuid)
    assert row is not None
    return row


async def test_heartbeat_job_reports_what_it_examined_and_emitted(
        config: Config, store: JobStore, cdp: CdpStore) -> None:
    now = datetime.now(UTC)
    await load(cdp, ev("s1", "p1", "page-view", now - timedelta(minutes=30)),
               ev("s2", "p2", "page-view", now - timedelta(minutes=2)),
               ev("s3", "p3", "page-view", now - timedelta(minutes=40)),
               ev("s3", "p3", "heartbeat", now - timedelta(minutes=1), HB))
    data = {"qualify_by": "inactive-session", "range": "now-1h|now", "skip_seconds": 900,
            "event_type": "session-inactive"}
    async with running_daemon(Daemon(config, discover())):
        first = await finished(store, (await store.create("heartbeat", data))["uuid"])
        second = await finished(store, (await store.create("heartbeat", data))["uuid"])
    assert first["status"] == "completed", first["job_response"]
    response = first["job_response"]
    assert response["qualify_by"] == "inactive-session"
    assert response["examined"] == {"sessions": 3}
    assert response["emitted"] == {"session-inactive": 2}
    assert second["job_response"]["emitted"] == {}
    assert second["job_response"]["examined"] == {"sessions": 3}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_unreachable_elasticsearch_fails_the_job_naming_it_and_the_daemon_goes_on(
        db_dsn: str, store: JobStore, cdp: CdpStore) -> None:
    port = closed_port()
    config = make_config(db_dsn, elastic_host=f"127.0.0.1:{port}")
    data = {"qualify_by": "visit-end", "range": "now-1h|now", "skip_seconds": 900}
    async with running_daemon(Daemon(config, discover())):
        job = await store.create("heartbeat", data, retry_count=0)
        row = await finished(store, job["uuid"])
        after = await finished(store, (await store.create("noop", {}))["uuid"])
    assert row["status"] == "dead"
    error = row["job_response"]["runtime_errors"][0]
    assert f"Elasticsearch at http://127.0.0.1:{port} is unreachable" in error
    assert "ELASTIC_HOST" in error
    assert after["status"] == "completed"
