"""The `segments` family: segmentation, trigger, delayed-event and mapping job types on the
customer data of the cdp family (whose migrations folder holds this family's tables)."""

from __future__ import annotations

from typing import Any

from services.cdp.delayed import DelayedEventJob
from services.cdp.mapping_store import PostCollectionMapping
from services.cdp.segments.jobs import Segmentation
from services.cdp.segments.resources import SegmentsSettings, open_resources
from services.cdp.segments.routes import router
from services.cdp.segments.triggers import TriggerEvent, TriggerWebhook
from supervisor.families import Family

JOB_TYPES = (Segmentation(), TriggerEvent(), TriggerWebhook(), DelayedEventJob(),
             PostCollectionMapping())

def _register_cli(root: Any) -> None:
    """`supervisor segment ...` and `supervisor cdp schedule-event`."""
    # Imported here: the CLI module imports supervisor.cli, which loads every family, so a
    # top-level import would make importing this family load the CLI half-way through.
    from services.cdp.segments.cli import register_cli

    register_cli(root)


family = Family(
    name="segments",
    job_types=JOB_TYPES,
    settings=SegmentsSettings,
    resources=open_resources,
    routers=(router,),
    cli=_register_cli,
)
