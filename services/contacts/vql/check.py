"""Validate a VQL query against a service's fields; coerce its values to the fields' types."""

from __future__ import annotations

import difflib
import re
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter, ValidationError

from services.contacts.vql.fields import COMPANY_FIELDS, Field, Kind, fields_of
from services.contacts.vql.models import OrderBy, Vql

# The Jobs API document's text, word for word: clients match on it.
MISSING_SELECT_COLUMNS = (
    "ERR_MISSING_SELECT_COLUMNS: 'select_columns' is required for export operations; specify at "
    "least one column to include in the output"
)
QUERY_LIMIT_MAX = 100
_DATETIME = TypeAdapter(datetime)
_INT = re.compile(r"^-?\d{1,18}$")


class VqlError(ValueError):
    """A query we refuse: the path of the offending part and what to do about it."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message if message.startswith("ERR_") else f"{path}: {message}")
        self.path = path


def known(fields: dict[str, Field], name: str, path: str, service: str) -> Field:
    """The field called `name`, or a VqlError naming it and the nearest known names."""
    field = fields.get(name)
    if field is None:
        near = difflib.get_close_matches(name, list(fields), n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise VqlError(path, f"unknown field {name!r:.60} for service {service}{hint}")
    return field


def coerce(field: Field, value: Any, path: str) -> Any:
    """A request value as the column's type (int, datetime, UUID or str)."""
    if isinstance(value, bool):
        raise VqlError(path, f"{field.name} does not take true/false")
    try:
        if field.kind is Kind.INT:
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, int) or (isinstance(value, str) and _INT.match(value.strip())):
                return int(value)
            raise ValueError
        if field.kind is Kind.TIME:
            when = _DATETIME.validate_python(value)
            return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
        if field.kind is Kind.UUID:
            return UUID(str(value))
    except (ValueError, ValidationError):
        raise VqlError(path, f"{value!r:.60} is not a valid {field.kind.value} for "
                       f"{field.name}") from None
    text = str(value)
    return text.lower() if field.lower else text


def sort_keys(vql: Vql, service: str) -> list[tuple[Field, bool]]:
    """(field, descending) per sort key, ending with uuid as the tie-breaker."""
    fields = fields_of(service)
    keys = [(fields[o.order_by], o.descending) for o in vql.order_by]
    if not any(f.name == "uuid" for f, _ in keys):
        keys.append((fields["uuid"], keys[-1][1] if keys else True))
    return keys


def check(vql: Vql, service: str, *, export: bool) -> None:
    """Refuse, naming the part, anything the backends could not run as meant."""
    if service not in ("contact", "company"):
        raise VqlError("service", f"service {service!r:.40} is not one of contact, company")
    fields = fields_of(service)
    _check_columns(vql, service, fields, export)
    _check_where(vql, service, fields)
    for i, order in enumerate(vql.order_by):
        _check_order(order, f"vql.order_by[{i}].order_by", service, fields)
    _check_paging(vql, service, export)


def _check_columns(vql: Vql, service: str, fields: dict[str, Field], export: bool) -> None:
    if export and not vql.select_columns:
        raise VqlError("vql.select_columns", MISSING_SELECT_COLUMNS)
    for i, name in enumerate(vql.select_columns or ()):
        known(fields, name, f"vql.select_columns[{i}]", service)
    cc = vql.company_config
    if cc is None or not cc.populate:
        return
    if service != "contact":
        raise VqlError("vql.company_config", "company_config applies to contact exports only")
    if not cc.select_columns:
        raise VqlError("vql.company_config.select_columns",
                       "populate is on: name at least one company column to add")
    for i, name in enumerate(cc.select_columns):
        known(COMPANY_FIELDS, name, f"vql.company_config.select_columns[{i}]", "company")


def _check_where(vql: Vql, service: str, fields: dict[str, Field]) -> None:
    where = vql.where
    for part in ("must", "must_not"):
        for i, tm in enumerate(getattr(where.text_matches, part)):
            path = f"vql.where.text_matches.{part}[{i}]"
            field = known(fields, tm.filter_key, f"{path}.filter_key", service)
            if not field.textual:
                raise VqlError(f"{path}.filter_key", f"{field.name} is a {field.kind.value} "
                               "field; text_matches takes text fields, use keyword_match")
            if tm.search_type != "substring" and not re.search(r"\w", tm.text_value):
                raise VqlError(f"{path}.text_value", "has no word to match")
        for name, value in getattr(where.keyword_match, part).items():
            path = f"vql.where.keyword_match.{part}.{name}"
            field = known(fields, name, path, service)
            values = value if isinstance(value, list) else [value]
            if not values:
                raise VqlError(path, "empty list; give at least one value or drop the field")
            for v in values:
                coerce(field, v, path)
        for name, rng in getattr(where.range_query, part).items():
            path = f"vql.where.range_query.{part}.{name}"
            field = known(fields, name, path, service)
            if not field.ranged:
                raise VqlError(path, f"{name} is a {field.kind.value} field; range_query takes "
                               "number and date fields only")
            for op, bound in rng.bounds().items():
                coerce(field, bound, f"{path}.{op}")


def _check_order(order: OrderBy, path: str, service: str, fields: dict[str, Field]) -> None:
    field = known(fields, order.order_by, path, service)
    if not field.sortable:
        raise VqlError(path, f"{field.name} is a list; sort by a single-valued field")


def _check_paging(vql: Vql, service: str, export: bool) -> None:
    if vql.cursor is not None and vql.page:
        raise VqlError("vql.cursor", "give cursor or page, not both")
    if not export and vql.limit is not None and vql.limit > QUERY_LIMIT_MAX:
        raise VqlError("vql.limit", f"at most {QUERY_LIMIT_MAX} rows per query; page with cursor")
    if vql.cursor is None or export:
        return
    keys = sort_keys(vql, service)
    if len(vql.cursor) != len(keys):
        names = ", ".join(f.name for f, _ in keys)
        raise VqlError("vql.cursor", f"needs {len(keys)} values, one per sort key ({names}); "
                       "pass the cursor a previous page returned")
    for i, ((field, _), value) in enumerate(zip(keys, vql.cursor, strict=True)):
        if value is None and field.kind is Kind.UUID:
            raise VqlError(f"vql.cursor[{i}]", "the uuid of the last row is required")
        if value is not None:
            coerce(field, value, f"vql.cursor[{i}]")
