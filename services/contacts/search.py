"""Elasticsearch documents: companies by uuid, contacts denormalised with their company."""

from __future__ import annotations

from typing import Any

from services.contacts.batch import Batch
from services.contacts.mapping import COMPANY_NAMES, CONTACT_NAMES
from services.shared.elastic import index_operations

COMPANY_INDEX = "companies_index"
CONTACT_INDEX = "contacts_index"


def _json(value: Any) -> Any:
    """A tuple value as JSON: uuids as text, empty text as null (as PostgreSQL stores it)."""
    if value == "":
        return None
    return str(value) if value is not None and not isinstance(value, str | int | list) else value


def company_doc(row: tuple[Any, ...]) -> dict[str, Any]:
    """A companies row as its document."""
    return {name: _json(v) for name, v in zip(COMPANY_NAMES, row, strict=True)}


def contact_doc(row: tuple[Any, ...], company: tuple[Any, ...] | None) -> dict[str, Any]:
    """A contacts row as its document, with its company's fields prefixed `company_`."""
    doc = {name: _json(v) for name, v in zip(CONTACT_NAMES, row, strict=True)}
    for name, v in zip(COMPANY_NAMES[1:], (company or (None,) * len(COMPANY_NAMES))[1:],
                       strict=True):
        doc[f"company_{name}"] = _json(v)
    return doc


def batch_operations(batch: Batch, *, company_index: str = COMPANY_INDEX,
                     contact_index: str = CONTACT_INDEX) -> list[dict[str, Any]]:
    """The bulk body lines that index a batch's companies, then its contacts."""
    ops = index_operations(company_index, (company_doc(r) for r in batch.companies.values()))
    company_at = CONTACT_NAMES.index("company_id")
    ops += index_operations(contact_index, (
        contact_doc(r, batch.companies.get(r[company_at])) for r in batch.contacts.values()))
    return ops
