"""VQL as an Elasticsearch search body: the DSL the Connectra reference builds."""

from __future__ import annotations

from typing import Any

from services.contacts.vql.fields import Field, fields_of
from services.contacts.vql.models import KeywordValue, TextMatch, Vql, Where

DEFAULT_SIZE = 25


def _text(tm: TextMatch) -> dict[str, Any]:
    if tm.search_type == "exact":
        return {"match_phrase": {tm.filter_key: {"query": tm.text_value, "slop": tm.slop}}}
    if tm.search_type == "substring":
        # Every n-gram of the value must be there: the closest the ngram index gets to "contains".
        return {"match": {f"{tm.filter_key}.ngram": {"query": tm.text_value, "operator": "and"}}}
    body: dict[str, Any] = {"query": tm.text_value, "operator": tm.operator}
    if tm.fuzzy:
        body["fuzziness"] = "AUTO"
    return {"match": {tm.filter_key: body}}


def _value(field: Field, value: KeywordValue) -> KeywordValue:
    """The value as stored: lower-cased where the import lower-cases the field."""
    if isinstance(value, list):
        return [_value(field, v) for v in value]  # type: ignore[misc]
    return value.lower() if field.lower and isinstance(value, str) else value


def _keyword(field: Field, value: KeywordValue) -> dict[str, Any]:
    kind = "terms" if isinstance(value, list) else "term"
    return {kind: {field.name: _value(field, value)}}


def query_of(where: Where, service: str) -> dict[str, Any]:
    """The `query` part: a bool of must, must_not and filter, or match_all for no condition."""
    if where.is_empty():
        return {"match_all": {}}
    fields = fields_of(service)
    groups: dict[str, list[dict[str, Any]]] = {}
    for tm in where.text_matches.must:
        groups.setdefault(tm.filter_key, []).append(_text(tm))
    must = [{"bool": {"should": g, "minimum_should_match": 1}} for g in groups.values()]
    must_not = [_text(tm) for tm in where.text_matches.must_not]
    must_not += [_keyword(fields[k], v) for k, v in where.keyword_match.must_not.items()]
    must_not += [{"range": {k: r.bounds()}} for k, r in where.range_query.must_not.items()]
    filters = [{"range": {k: r.bounds()}} for k, r in where.range_query.must.items()]
    filters += [_keyword(fields[k], v) for k, v in where.keyword_match.must.items()]
    boolean: dict[str, Any] = {}
    for name, part in (("must", must), ("must_not", must_not), ("filter", filters)):
        if part:
            boolean[name] = part
    return {"bool": boolean}


def sort_of(keys: list[tuple[Field, bool]]) -> list[dict[str, Any]]:
    """The sort keys, ending with the uuid tie-breaker (search_after needs a total order)."""
    return [{f.name: {"order": "desc" if d else "asc"}} for f, d in keys]


def search_body(vql: Vql, service: str, keys: list[tuple[Field, bool]], *,
                size: int | None = None) -> dict[str, Any]:
    """The whole search request: query, size, from or search_after, sort, _source."""
    body: dict[str, Any] = {"query": query_of(vql.where, service)}
    body["size"] = size if size is not None else (vql.limit or DEFAULT_SIZE)
    if vql.cursor:
        body["search_after"] = list(vql.cursor)
    elif vql.page:
        body["from"] = (vql.page - 1) * body["size"]
    body["sort"] = sort_of(keys)
    if vql.select_columns:
        source = list(vql.select_columns)
        source += [f"company_{c}" for c in vql.populated_company_columns()]
        body["_source"] = source
    return body
