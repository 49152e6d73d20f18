"""Customer data: events, sessions and profiles; the collector (POST /track); the heartbeat."""

from __future__ import annotations

from typing import Any

from services.cdp.heartbeat.job import Heartbeat
from services.cdp.resources import open_resources
from services.cdp.routes import router
from services.cdp.settings import CdpSettings
from services.cdp.store import QUERIES
from supervisor.families import Family


def register_cli(app: Any) -> None:
    """Add `cdp` and `heartbeat` (imported here: the CLI package imports the families)."""
    from services.cdp import cli

    cli.register_cli(app)


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
