"""The contacts/companies job family: CSV import (and export, VQL) of contacts and companies."""

from __future__ import annotations

from services.contacts import export_cli
from services.contacts.api_query import router as query_router
from services.contacts.export import ExportCsvFile
from services.contacts.job import InsertCsvFile
from services.contacts.queries import QUERIES
from services.contacts.resources import open_resources
from services.contacts.settings import ContactsSettings
from supervisor.families import Family

family = Family(
    name="contacts",
    job_types=(InsertCsvFile(), ExportCsvFile()),
    settings=ContactsSettings,
    migrations="services.contacts.migrations",
    queries=QUERIES,
    resources=open_resources,
    routers=(query_router,),  # export download and the VQL query (services/contacts/api_query)
    cli=export_cli.register,  # supervisor data export
)
