"""The Elasticsearch export path: the search_after requests it sends, and the cells it writes."""

from __future__ import annotations

from typing import Any

from services.contacts.csvcells import cell_text, csv_line
from services.contacts.export import ExportEnv, ExportPayload, Progress, es_lines


class Recorder:
    """Answers searches from canned pages and keeps every request body (ES is not installed)."""

    def __init__(self, pages: list[list[dict[str, Any]]]) -> None:
        self.pages, self.bodies, self.indexes = pages, [], []

    async def search(self, *, index: str, body: dict[str, Any]) -> dict[str, Any]:
        self.indexes.append(index)
        self.bodies.append(body)
        hits = self.pages.pop(0) if self.pages else []
        return {"hits": {"hits": hits}}


def hit(uuid: str, **source: Any) -> dict[str, Any]:
    return {"_source": {"uuid": uuid, **source}, "sort": [uuid]}


async def collect(es: Recorder, vql: dict[str, Any], batch: int) -> str:
    payload = ExportPayload.model_validate({"service": "contact", "vql": vql})
    env = ExportEnv(objects=None, batch_size=batch, es=es)  # type: ignore[arg-type]
    return "".join([x async for x in es_lines(es, payload, env, Progress(None, None))])


async def test_pages_follow_search_after_sorted_by_uuid_desc() -> None:
    es = Recorder([[hit("c", title="=1+1"), hit("b", title="ok")], [hit("a", title=None)]])
    text = await collect(es, {"select_columns": ["uuid", "title"],
                              "where": {"keyword_match": {"must": {"country": "USA"}}}}, 2)
    assert text == "uuid,title\r\nc,'=1+1\r\nb,ok\r\na,\r\n"
    assert es.indexes == ["contacts_index"] * 3
    first, second, third = es.bodies
    assert first == {"query": {"bool": {"filter": [{"term": {"country": "usa"}}]}}, "size": 2,
                     "sort": [{"uuid": {"order": "desc"}}], "_source": ["uuid", "title"]}
    assert "search_after" not in first
    assert second["search_after"] == ["b"] and third["search_after"] == ["a"]


async def test_limit_caps_the_last_page_size() -> None:
    es = Recorder([[hit("c"), hit("b")], [hit("a")]])
    text = await collect(es, {"select_columns": ["uuid"], "limit": 3}, 2)
    assert text == "uuid\r\nc\r\nb\r\na\r\n"
    assert [b["size"] for b in es.bodies] == [2, 1]


def test_cells() -> None:
    assert cell_text(["a", "b"], formulas_off=True) == "a,b"
    assert cell_text(-5, formulas_off=True) == "-5"
    assert cell_text("-5", formulas_off=True) == "'-5"
    assert cell_text("@x", formulas_off=False) == "@x"
    assert cell_text(None, formulas_off=True) == ""
    assert csv_line(['a "b"', "c,d", "e"]) == '"a ""b""","c,d",e\r\n'
