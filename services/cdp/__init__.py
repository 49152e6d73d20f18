"""Customer data: events, sessions and profiles; the collector (POST /track); the heartbeat."""

from __future__ import annotations

from services.cdp.cli import register_cli
from services.cdp.heartbeat.job import Heartbeat
from services.cdp.resources import open_resources
from services.cdp.routes import router
from services.cdp.settings import CdpSettings
from services.cdp.store import QUERIES
from supervisor.families import Family

family = Family(
    name="cdp",
    job_types=(Heartbeat(),),
    settings=CdpSettings,
    migrations="services.cdp.migrations",
    queries=QUERIES,
    resources=open_resources,
    routers=(router,),
    cli=register_cli,
)
