"""VQL as PostgreSQL SELECTs: rows for the query API, CSV lines for exports; keyset paging."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from services.contacts.vql.check import coerce
from services.contacts.vql.fields import COMPANY_FIELDS, TABLES, Field, Kind
from services.contacts.vql.models import Vql
from services.contacts.vql.sql_where import Params, where_sql

# Formula triggers a spreadsheet would run (OWASP's list): the cell gets a leading quote.
_FORMULA = r"'^[=+@\t\r-]'"


@dataclass
class Compiled:
    """One statement: its text, the filter values, and where the cursor values go."""

    sql: str
    args: list[Any]
    keys: list[tuple[Field, bool]] = field(default_factory=list)


@dataclass(frozen=True)
class Column:
    """One output column: its header and the field it reads."""

    header: str
    field: Field


def output_columns(vql: Vql, fields: dict[str, Field]) -> list[Column]:
    """select_columns in their order, then populated company columns (prefixed company_)."""
    cols = [Column(name, fields[name]) for name in vql.select_columns or ()]
    for name in vql.populated_company_columns():
        base = COMPANY_FIELDS[name]
        cols.append(Column(f"company_{name}", Field(base.name, base.kind, base.column, "co")))
    return cols


def _from(service: str, used: Sequence[Field]) -> str:
    sql = f"{TABLES[service]} t"
    if service == "contact" and any(f.table == "co" for f in used):
        sql += " LEFT JOIN companies co ON co.uuid = t.company_id AND co.deleted_at IS NULL"
    return sql


def _order(keys: Sequence[tuple[Field, bool]]) -> str:
    # NULLS LAST both ways, as Elasticsearch sorts missing values by default.
    return ", ".join(f"{f.sql} {'DESC' if d else 'ASC'} NULLS LAST" for f, d in keys)


def keyset(keys: Sequence[tuple[Field, bool]], cursor: Sequence[Any], params: Params) -> str:
    """Rows strictly after `cursor` in the order of `keys` (NULLS LAST)."""
    disjuncts: list[str] = []
    equal: list[str] = []
    for (f, desc), raw in zip(keys, cursor, strict=True):
        if raw is None:
            equal.append(f"{f.sql} IS NULL")  # nothing sorts after NULL: no disjunct here
            continue
        p = params.add(coerce(f, raw, f.name))
        after = f"{f.sql} {'<' if desc else '>'} {p}"
        if f.kind is not Kind.UUID or f.table != "t":
            after = f"({after} OR {f.sql} IS NULL)"
        disjuncts.append(" AND ".join([*equal, after]))
        equal.append(f"{f.sql} = {p}")
    return "(" + " OR ".join(f"({d})" for d in disjuncts) + ")" if disjuncts else "FALSE"


def _cell(f: Field, neutralise: bool) -> str:
    """A column as the text of its CSV cell: lists comma-joined, times in ISO 8601 UTC."""
    if f.kind is Kind.LIST:
        v = f"array_to_string({f.sql}, ',')"
    elif f.kind is Kind.TIME:
        v = f"to_char({f.sql} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    elif f.kind is Kind.TEXT:
        v = f.sql
    else:
        return f"coalesce({f.sql}::text, '')"  # numbers and uuids never need quoting
    if neutralise:
        v = f"CASE WHEN {v} ~ {_FORMULA} THEN '''' || {v} ELSE {v} END"
    return (f"CASE WHEN {v} ~ '[\",\\r\\n]' THEN '\"' || replace({v}, '\"', '\"\"') || '\"' "
            f"ELSE coalesce({v}, '') END")


def csv_page(vql: Vql, service: str, fields: dict[str, Field], *, neutralise: bool,
             first: bool) -> Compiled:
    """A page of CSV lines newest uuid first: `$last` (unless first) and `$limit` come last."""
    params = Params()
    cols = output_columns(vql, fields)
    conds = where_sql(vql.where, service, params)
    conds.insert(0, "t.deleted_at IS NULL")
    if not first:
        conds.append(f"t.uuid < ${len(params.values) + 1}")
    limit = f"${len(params.values) + (1 if first else 2)}"
    line = " || ',' || ".join(_cell(c.field, neutralise) for c in cols)
    used = [c.field for c in cols] + _where_fields(vql, fields)
    sql = (f"SELECT t.uuid, {line} AS line FROM {_from(service, used)} "
           f"WHERE {' AND '.join(conds)} ORDER BY t.uuid DESC LIMIT {limit}")
    return Compiled(sql, params.values, [(fields["uuid"], True)])


def rows_query(vql: Vql, service: str, fields: dict[str, Field],
               keys: list[tuple[Field, bool]], limit: int) -> Compiled:
    """Rows of select_columns (c0, c1, ...) and the sort keys (k0, k1, ...) of one page."""
    params = Params()
    cols = output_columns(vql, fields)
    conds = ["t.deleted_at IS NULL", *where_sql(vql.where, service, params)]
    if vql.cursor is not None:
        conds.append(keyset(keys, vql.cursor, params))
    offset = (vql.page - 1) * limit if vql.page and vql.cursor is None else 0
    out = [f"{c.field.sql} AS c{i}" for i, c in enumerate(cols)]
    out += [f"{f.sql} AS k{i}" for i, (f, _) in enumerate(keys)]
    used = [c.field for c in cols] + [f for f, _ in keys] + _where_fields(vql, fields)
    sql = (f"SELECT {', '.join(out)} FROM {_from(service, used)} WHERE {' AND '.join(conds)} "
           f"ORDER BY {_order(keys)} LIMIT {params.add(limit)} OFFSET {params.add(offset)}")
    return Compiled(sql, params.values, keys)


def _where_fields(vql: Vql, fields: dict[str, Field]) -> list[Field]:
    w = vql.where
    names = [t.filter_key for t in (*w.text_matches.must, *w.text_matches.must_not)]
    for part in (w.keyword_match.must, w.keyword_match.must_not, w.range_query.must,
                 w.range_query.must_not):
        names.extend(part)
    return [fields[n] for n in names]
