"""VQL conditions as a PostgreSQL WHERE clause: whitelisted columns, every value bound."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from services.contacts.vql.check import coerce
from services.contacts.vql.fields import Field, Kind, fields_of
from services.contacts.vql.models import KeywordValue, Range, TextMatch, Where

_CASTS = {Kind.TEXT: "text", Kind.LIST: "text", Kind.INT: "int8", Kind.TIME: "timestamptz",
          Kind.UUID: "uuid"}
_RANGE_OPS = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<"}
_WORD = re.compile(r"\w+")


class Params:
    """Bind parameters of one statement; `add` answers the placeholder of a value.

    `trigram`: the database has pg_trgm, so `fuzzy` can use word similarity.
    """

    def __init__(self, start: int = 0, *, trigram: bool = True) -> None:
        self.values: list[Any] = []
        self._start = start
        self.trigram = trigram

    def add(self, value: Any) -> str:
        """Append a value; its `$n`."""
        self.values.append(value)
        return f"${self._start + len(self.values)}"


def where_sql(where: Where, service: str, params: Params) -> list[str]:
    """Every condition of `where` as SQL, to be joined by AND (none: every row)."""
    fields = fields_of(service)
    out: list[str] = []
    by_field: dict[str, list[str]] = defaultdict(list)
    for tm in where.text_matches.must:
        by_field[tm.filter_key].append(_text(fields[tm.filter_key], tm, params))
    out.extend(_any(conds) for conds in by_field.values())
    out.extend(_not(_text(fields[tm.filter_key], tm, params))
               for tm in where.text_matches.must_not)
    for part, negate in (("must", False), ("must_not", True)):
        for name, value in getattr(where.keyword_match, part).items():
            cond = _keyword(fields[name], value, params)
            out.append(_not(cond) if negate else cond)
        for name, rng in getattr(where.range_query, part).items():
            cond = _range(fields[name], rng, params)
            out.append(_not(cond) if negate else cond)
    return out


def _any(conds: list[str]) -> str:
    return conds[0] if len(conds) == 1 else "(" + " OR ".join(conds) + ")"


def _not(cond: str) -> str:
    # A missing value does not match, so must_not keeps the row (as Elasticsearch does).
    return f"({cond}) IS NOT TRUE"


def _keyword(field: Field, value: KeywordValue, params: Params) -> str:
    values = value if isinstance(value, list) else [value]
    typed = [coerce(field, v, field.name) for v in values]
    if field.kind is Kind.LIST:
        return f"{field.sql} && {params.add(typed)}::text[]"
    if len(typed) == 1:
        return f"{field.sql} = {params.add(typed[0])}::{_CASTS[field.kind]}"
    return f"{field.sql} = ANY({params.add(typed)}::{_CASTS[field.kind]}[])"


def _range(field: Field, rng: Range, params: Params) -> str:
    cast = _CASTS[field.kind]
    conds = [f"{field.sql} {_RANGE_OPS[op]} {params.add(coerce(field, v, field.name))}::{cast}"
             for op, v in rng.bounds().items()]
    return conds[0] if len(conds) == 1 else "(" + " AND ".join(conds) + ")"


def like_escape(text: str) -> str:
    """`text` as a literal inside a LIKE pattern (backslash is LIKE's default escape)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def phrase_regex(text: str, slop: int) -> str:
    """A case-insensitive ARE matching the words of `text` in order, `slop` extra words apart.

    Words are runs of word characters only, so nothing from the request is a regex operator.
    """
    gap = r"\W+" if slop == 0 else r"\W+(\w+\W+){0," + str(slop) + "}"
    return r"\m" + gap.join(_WORD.findall(text)) + r"\M"


def _on_values(field: Field, test: str) -> str:
    """`test` (with `{v}` for the value) on a text column, or on any element of a list."""
    if field.kind is Kind.LIST:
        return f"EXISTS (SELECT 1 FROM unnest({field.sql}) AS e(v) WHERE {test.format(v='e.v')})"
    return test.format(v=field.sql)


def _text(field: Field, tm: TextMatch, params: Params) -> str:
    if tm.search_type == "substring":
        return _on_values(field, "{v} ILIKE " + params.add(f"%{like_escape(tm.text_value)}%"))
    if tm.search_type == "exact":
        return _on_values(field, "{v} ~* " + params.add(phrase_regex(tm.text_value, tm.slop)))
    conds = []
    for word in _WORD.findall(tm.text_value):
        # fuzziness AUTO allows no edit in words of one or two characters; without pg_trgm
        # a fuzzy word matches as a whole word.
        if tm.fuzzy and len(word) > 2 and params.trigram:
            test = params.add(word) + " <% {v}"
        else:
            test = "{v} ~* " + params.add(phrase_regex(word, 0))
        conds.append(_on_values(field, test))
    joiner = " AND " if tm.operator == "and" else " OR "
    return conds[0] if len(conds) == 1 else "(" + joiner.join(conds) + ")"
