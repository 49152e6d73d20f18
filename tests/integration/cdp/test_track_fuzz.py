"""Property-based requests to POST /track from its OpenAPI description: never a 5xx, and
every answer is a documented one."""

from __future__ import annotations

from collections import Counter

import pytest
import requests
import schemathesis

from tests.integration.test_api_fuzz import EXAMPLES, LiveApi, _fuzz, live_api

__all__ = ["live_api"]


@pytest.mark.timeout(300)
def test_generated_tracker_payloads_never_get_a_server_error(live_api: LiveApi) -> None:
    schema = schemathesis.openapi.from_url(f"{live_api.url}/openapi.json")
    statuses: Counter[int] = Counter()
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path != "/track":
            continue
        for mode, examples in EXAMPLES.items():
            _fuzz(operation, mode, examples, live_api, session, statuses)
    assert statuses[200] and (statuses[422] or statuses[400]), dict(statuses)
    assert not [s for s in statuses if s >= 500], dict(statuses)
