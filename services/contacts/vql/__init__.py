"""VQL, the query language of contacts and companies, on PostgreSQL and Elasticsearch."""

from services.contacts.vql.check import MISSING_SELECT_COLUMNS, VqlError, check, sort_keys
from services.contacts.vql.models import Vql

__all__ = ["MISSING_SELECT_COLUMNS", "Vql", "VqlError", "check", "sort_keys"]
