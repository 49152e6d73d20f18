"""What the cdp family opens once per process: its store and, with ELASTIC_HOST, Elasticsearch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from services.cdp.elastic import Elastic, open_elastic
from services.cdp.settings import CdpSettings
from services.cdp.store import CdpStore
from supervisor.families import FamilyEnv


@dataclass
class CdpResources:
    """The family's store, settings, and the Elasticsearch client when one is configured."""

    store: CdpStore
    settings: CdpSettings
    elastic: Elastic | None = None


@asynccontextmanager
async def open_resources(env: FamilyEnv) -> AsyncIterator[CdpResources]:
    """The store on the job-work pool; an Elasticsearch client if ELASTIC_HOST is set."""
    settings = env.settings if isinstance(env.settings, CdpSettings) else \
        CdpSettings.model_validate({})
    async with AsyncExitStack() as stack:
        elastic = None
        if env.config.elastic_host:
            elastic = await stack.enter_async_context(
                open_elastic(env.config.elastic_host, bool(env.config.production)))
        yield CdpResources(CdpStore(env.job_pool), settings, elastic)
