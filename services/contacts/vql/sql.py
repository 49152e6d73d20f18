"""VQL as PostgreSQL SELECTs: rows for the query API, CSV lines for exports; keyset paging."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from services.contacts.vql.check import coerce
from services.contacts.vql.fields import COMPANY_FIELDS, TABLES, Field, Kind
from services.contacts.vql.models import Vql
from services.contacts.vql.sql_where import Params, where_sql

# First characters a spreadsheet runs as a formula (OWASP's list: tab, CR, + - = @), by code
# point: ascii() costs far less per cell than a regex. The cell then gets a leading quote.
_FORMULA_CODES = "(9, 13, 43, 45, 61, 64)"


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
    """A column as its CSV cell: text always quoted (NULL is an empty cell), lists joined by
    commas, times ISO 8601 UTC, numbers and uuids bare.

    Quoting every text cell costs two bytes and spares testing each value for a delimiter.
    """
    if f.kind is Kind.TIME:
        return (f"coalesce(to_char({f.sql} AT TIME ZONE 'UTC', "
                "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '')")
    if f.kind not in (Kind.TEXT, Kind.LIST):
        return f"coalesce({f.sql}::text, '')"
    v = f"array_to_string({f.sql}, ',')" if f.kind is Kind.LIST else f.sql
    mark = f"CASE WHEN ascii({v}) IN {_FORMULA_CODES} THEN '''' ELSE '' END || "
    mark = mark if neutralise else ""
    return f"coalesce('\"' || {mark}replace({v}, '\"', '\"\"') || '\"', '')"


def csv_query(vql: Vql, service: str, fields: dict[str, Field], *, neutralise: bool,
              lo: UUID, hi: UUID, trigram: bool = True) -> Compiled:
    """The selected rows with uuids from `lo` to `hi` as CSV lines, newest uuid first."""
    params = Params(trigram=trigram)
    cols = output_columns(vql, fields)
    conds = ["t.deleted_at IS NULL", *where_sql(vql.where, service, params),
             f"t.uuid BETWEEN {params.add(lo)}::uuid AND {params.add(hi)}::uuid"]
    line = " || ',' || ".join(_cell(c.field, neutralise) for c in cols)
    used = [c.field for c in cols] + _where_fields(vql, fields)
    sql = (f"SELECT {line} AS line FROM {_from(service, used)} "
           f"WHERE {' AND '.join(conds)} ORDER BY t.uuid DESC")
    if vql.limit:
        sql += f" LIMIT {params.add(vql.limit)}"
    return Compiled(sql, params.values, [(fields["uuid"], True)])


def rows_query(vql: Vql, service: str, fields: dict[str, Field],
               keys: list[tuple[Field, bool]], limit: int, *, trigram: bool = True) -> Compiled:
    """Rows of select_columns (c0, c1, ...) and the sort keys (k0, k1, ...) of one page."""
    params = Params(trigram=trigram)
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
