"""The Elasticsearch backend builds exactly the request bodies written out in the golden file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.contacts.vql import Vql, check, sort_keys
from services.contacts.vql.es import search_body

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "golden" / "vql_es.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_body_is_golden(case: dict[str, Any]) -> None:
    vql = Vql.model_validate(case["vql"])
    check(vql, case["service"], export=False)
    body = search_body(vql, case["service"], sort_keys(vql, case["service"]))
    assert body == case["body"]
    assert json.dumps(body, sort_keys=False) == json.dumps(case["body"], sort_keys=False)


def test_export_sort_is_uuid_desc_whatever_was_asked() -> None:
    from services.contacts.export import export_query

    vql = Vql.model_validate({"select_columns": ["name"],
                              "order_by": [{"order_by": "name", "order_direction": "asc"}]})
    forced = export_query(vql)
    assert search_body(forced, "company", sort_keys(forced, "company"), size=500)["sort"] == [
        {"uuid": {"order": "desc"}}]
