"""The fields VQL may name, per service: their kind, column and Elasticsearch name."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """What a field holds, which decides the filters it accepts."""

    TEXT = "text"  # free text: keyword equality and text_matches
    LIST = "list"  # text[]: keyword overlap and text_matches on the joined values
    INT = "int"  # int8: keyword equality and range_query
    TIME = "time"  # timestamptz: keyword equality and range_query
    UUID = "uuid"  # uuid: keyword equality only


@dataclass(frozen=True)
class Field:
    """One known field: its VQL name, kind, the table alias and column that hold it."""

    name: str
    kind: Kind
    column: str
    table: str = "t"  # "t" the service's own table, "co" the contact's company (a join)
    lower: bool = False  # the import lower-cases it, so keyword values are lower-cased too

    @property
    def sql(self) -> str:
        """The qualified column; always from this whitelist, never from a request."""
        return f"{self.table}.{self.column}"

    @property
    def sortable(self) -> bool:
        """Lists have no order of their own."""
        return self.kind is not Kind.LIST

    @property
    def ranged(self) -> bool:
        """Only numbers and times accept range_query."""
        return self.kind in (Kind.INT, Kind.TIME)

    @property
    def textual(self) -> bool:
        """Only text and lists accept text_matches."""
        return self.kind in (Kind.TEXT, Kind.LIST)


_T, _L, _I, _D, _U = Kind.TEXT, Kind.LIST, Kind.INT, Kind.TIME, Kind.UUID
_LOWER = {"first_name", "last_name", "email", "city", "state", "country", "seniority", "stage",
          "linkedin_url", "name"}

_COMMON: dict[str, Kind] = {"uuid": _U, "created_at": _D, "updated_at": _D}

_COMPANY: dict[str, Kind] = {
    "name": _T, "employees_count": _I, "industries": _L, "keywords": _L, "address": _T,
    "annual_revenue": _I, "total_funding": _I, "technologies": _L, "city": _T, "state": _T,
    "country": _T, "linkedin_url": _T, "website": _T, "normalized_domain": _T,
    "facebook_url": _T, "twitter_url": _T, "company_name_for_emails": _T, "phone_number": _T,
    "latest_funding": _T, "latest_funding_amount": _I, "last_raised_at": _T,
}

_CONTACT: dict[str, Kind] = {
    "first_name": _T, "last_name": _T, "company_id": _U, "email": _T, "title": _T,
    "departments": _L, "mobile_phone": _T, "email_status": _T, "seniority": _T, "city": _T,
    "state": _T, "country": _T, "linkedin_url": _T, "facebook_url": _T, "twitter_url": _T,
    "website": _T, "work_direct_phone": _T, "home_phone": _T, "other_phone": _T, "stage": _T,
}


def _own(kinds: dict[str, Kind]) -> dict[str, Field]:
    return {n: Field(n, k, n, lower=n in _LOWER) for n, k in {**_COMMON, **kinds}.items()}


COMPANY_FIELDS: dict[str, Field] = _own(_COMPANY)

# A contact also answers for its company's fields, prefixed company_, as in the denormalised
# Elasticsearch contact index; in PostgreSQL they come through a join on company_id.
CONTACT_FIELDS: dict[str, Field] = {
    **_own(_CONTACT),
    **{f"company_{f.name}": Field(f"company_{f.name}", f.kind, f.column, "co", f.lower)
       for f in COMPANY_FIELDS.values() if f.name not in ("created_at", "updated_at")},
}

SERVICES: dict[str, dict[str, Field]] = {"contact": CONTACT_FIELDS, "company": COMPANY_FIELDS}
TABLES: dict[str, str] = {"contact": "contacts", "company": "companies"}
ES_INDEXES: dict[str, str] = {"contact": "contacts_index", "company": "companies_index"}


def fields_of(service: str) -> dict[str, Field]:
    """The known fields of a service ("contact" or "company")."""
    return SERVICES[service]
