"""The family's per-process resources: the object store and, with ELASTIC_HOST, Elasticsearch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from elasticsearch import AsyncElasticsearch

from services.contacts.settings import ContactsSettings
from services.shared.elastic import open_elastic
from services.shared.objects import ObjectStore, open_object_store
from supervisor.families import FamilyEnv

PROD_PREFIX = "prod-"  # PRODUCTION=true: the indexes of production data


@dataclass
class ContactsResources:
    """What the family's jobs, routes and commands use."""

    settings: ContactsSettings
    objects: ObjectStore
    elastic: AsyncElasticsearch | None
    company_index: str
    contact_index: str
    pool: Any  # the job-work asyncpg pool


@asynccontextmanager
async def open_resources(env: FamilyEnv) -> AsyncIterator[ContactsResources]:
    """Open the object store (S3 or the directory store) and the search client, once."""
    settings: ContactsSettings = env.settings or ContactsSettings.model_validate({})
    async with AsyncExitStack() as stack:
        objects = await stack.enter_async_context(open_object_store(
            kind=settings.store_kind, data_dir=env.data_dir, bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url, region=settings.s3_region))
        elastic = None
        host = getattr(env.config, "elastic_host", None)
        if host:
            elastic = await stack.enter_async_context(open_elastic(host))
        prefix = PROD_PREFIX if getattr(env.config, "production", False) else ""
        yield ContactsResources(settings, objects, elastic,
                                prefix + settings.elastic_company_index,
                                prefix + settings.elastic_contact_index, env.job_pool)
