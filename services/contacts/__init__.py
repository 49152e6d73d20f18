"""The contacts/companies job family: CSV import (and export, VQL) of contacts and companies."""

from __future__ import annotations

from typing import Any

from services.contacts.api_query import router as query_router
from services.contacts.export import ExportCsvFile
from services.contacts.job import InsertCsvFile
from services.contacts.queries import QUERIES
from services.contacts.resources import open_resources
from services.contacts.routes import router
from services.contacts.settings import ContactsSettings
from supervisor.families import Family


def _cli(root: Any) -> None:
    """`supervisor data import` (cli.py), then `data export` (export_cli.py) in that group."""
    # Imported here: the CLI modules import supervisor.cli, which loads every family, so a
    # top-level import would make importing this family load the CLI half-way through.
    from services.contacts import cli, export_cli

    cli.register_cli(root)
    export_cli.register(root)


family = Family(
    name="contacts",
    job_types=(InsertCsvFile(), ExportCsvFile()),
    settings=ContactsSettings,
    migrations="services.contacts.migrations",
    queries=QUERIES,
    resources=open_resources,
    routers=(router, query_router),  # query_router: export download and VQL query
    cli=_cli,
)
