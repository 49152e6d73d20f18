"""An API app whose contacts family is the export's pieces, on a given object store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx

from services.contacts.api_query import router
from services.contacts.export import ExportCsvFile
from services.contacts.resources import ContactsResources
from services.contacts.settings import ContactsSettings
from services.shared.objects import ObjectStore
from supervisor.api.app import create_app
from supervisor.api.context import StandaloneRuntime
from supervisor.config import Config
from supervisor.families import Families, Family
from supervisor.store.api_keys import ApiKeyStore
from supervisor.store.jobs import JobStore


def resources(objects: ObjectStore, pool: asyncpg.Pool, **settings: Any) -> ContactsResources:
    """The family's resources on `objects` and `pool`, without Elasticsearch."""
    values = {"batch_size_for_insertion": 500, **settings}
    return ContactsResources(ContactsSettings.model_validate(values), objects, None,
                             "companies_index", "contacts_index", pool)


def families(objects: ObjectStore, pool: asyncpg.Pool) -> Families:
    """A contacts family of the export job type and routes, resources already open."""
    found = Families([Family(name="contacts", job_types=(ExportCsvFile(),), routers=(router,))])
    found.get("contacts").resources = resources(objects, pool)
    return found


@asynccontextmanager
async def export_api(pool: asyncpg.Pool, config: Config, objects: ObjectStore,
                     ) -> AsyncIterator[tuple[httpx.AsyncClient, StandaloneRuntime]]:
    """A client for an app serving the export routes, with a fresh API key."""
    key, _ = await ApiKeyStore(pool).create("tests")
    rt = StandaloneRuntime(config, families(objects, pool), pool, JobStore(pool))
    transport = httpx.ASGITransport(app=create_app(rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test",
                                 headers={"X-API-Key": key}) as client:
        yield client, rt
