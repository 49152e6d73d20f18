"""The contacts/companies job family: CSV import (and export, VQL) of contacts and companies."""

from __future__ import annotations

from services.contacts.cli import register_cli
from services.contacts.job import InsertCsvFile
from services.contacts.queries import QUERIES
from services.contacts.resources import open_resources
from services.contacts.routes import router
from services.contacts.settings import ContactsSettings
from supervisor.families import Family

family = Family(
    name="contacts",
    job_types=(InsertCsvFile(),),
    settings=ContactsSettings,
    migrations="services.contacts.migrations",
    queries=QUERIES,
    resources=open_resources,
    routers=(router,),
    cli=register_cli,
)
