"""Property-based run of the OpenAPI document (schemathesis): no generated request gets a 5xx.

The API runs in uvicorn on 127.0.0.1 (a random port) in a thread with its own event loop and
database pool, so the synchronous schemathesis client talks to it over real HTTP.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from supervisor.api.service import ApiService
from supervisor.store.api_keys import ApiKeyStore
from supervisor.store.db import create_pool
from tests import pgtest
from tests.conftest import make_config
from tests.integration.api_support import standalone

EXAMPLES = {GenerationMode.POSITIVE: 120, GenerationMode.NEGATIVE: 80}  # per operation
MIN_REQUESTS = 1000
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class LiveApi:
    """A running API: its base URL and a key."""

    url: str
    key: str


def _serve(dsn: str, ready: threading.Event, stop: threading.Event, out: dict[str, Any]) -> None:
    async def main() -> None:
        pool = await create_pool(dsn, min_size=1, max_size=8)
        try:
            out["key"], _ = await ApiKeyStore(pool).create("fuzz")
            service = ApiService(standalone(pool, make_config(dsn, api_port=0)))
            stopping = asyncio.Event()
            task = asyncio.create_task(service.run(stopping))
            await asyncio.wait([task, asyncio.create_task(service.serving.wait())],
                               return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                await task  # it failed to start: raise why
            out["port"] = service.port
            ready.set()
            await asyncio.to_thread(stop.wait)
            stopping.set()
            await task
        finally:
            await pool.close()

    try:
        asyncio.run(main())
    except BaseException as exc:
        out["error"] = exc
        ready.set()


@pytest.fixture
def live_api(pg_server: str, pg_template: str) -> Iterator[LiveApi]:
    """The API on a database of its own, served from a background thread."""
    name = asyncio.run(pgtest.clone(pg_server, pg_template))
    ready, stop, out = threading.Event(), threading.Event(), dict[str, Any]()
    thread = threading.Thread(target=_serve, args=(pgtest.with_database(pg_server, name),
                                                   ready, stop, out), daemon=True)
    thread.start()
    ready.wait(60)
    try:
        if "error" in out:
            raise out["error"]
        yield LiveApi(f"http://127.0.0.1:{out['port']}", out["key"])
    finally:
        stop.set()
        thread.join(30)
        asyncio.run(pgtest.drop(pg_server, name))


@pytest.mark.timeout(300)
def test_generated_requests_never_get_a_server_error(live_api: LiveApi) -> None:
    schema = schemathesis.openapi.from_url(f"{live_api.url}/openapi.json")
    statuses: Counter[int] = Counter()
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode, examples in EXAMPLES.items():
            _fuzz(operation, mode, examples, live_api, session, statuses)
    total = sum(statuses.values())
    assert total >= MIN_REQUESTS, f"only {total} requests generated: {dict(statuses)}"
    assert not [s for s in statuses if s >= 500], dict(statuses)
    assert statuses[201] and statuses[400] and statuses[200], dict(statuses)


def _fuzz(operation: Any, mode: GenerationMode, examples: int, api: LiveApi,
          session: requests.Session, statuses: Counter[int]) -> None:
    try:
        strategy = operation.as_strategy(generation_mode=mode,
                                         headers={"X-API-Key": api.key})
    except Exception:  # some operations have nothing to negate (no parameters, no body)
        return

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(base_url=api.url, session=session, timeout=30)
        statuses[response.status_code] += 1
        assert response.status_code < 500, f"{response.status_code} {response.text[:500]}"
        if mode is GenerationMode.POSITIVE:
            case.validate_response(response, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        pass  # negative mode on an operation whose every input is valid (e.g. /healthz)
