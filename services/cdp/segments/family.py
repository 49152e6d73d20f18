"""The `segments` family: segmentation, trigger, delayed-event and mapping job types on the
customer data of the cdp family (whose migrations folder holds this family's tables)."""

from __future__ import annotations

from services.cdp.delayed import DelayedEventJob
from services.cdp.mapping_store import PostCollectionMapping
from services.cdp.segments.cli import register_cli
from services.cdp.segments.jobs import Segmentation
from services.cdp.segments.resources import SegmentsSettings, open_resources
from services.cdp.segments.routes import router
from services.cdp.segments.triggers import TriggerEvent, TriggerWebhook
from supervisor.families import Family

JOB_TYPES = (Segmentation(), TriggerEvent(), TriggerWebhook(), DelayedEventJob(),
             PostCollectionMapping())

family = Family(
    name="segments",
    job_types=JOB_TYPES,
    settings=SegmentsSettings,
    resources=open_resources,
    routers=(router,),
    cli=register_cli,
)
