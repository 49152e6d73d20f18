"""Settings and per-process resources of segmentation, triggers, delayed events and mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.cdp.store import CdpStore

YES = ("yes", "true", "1", "on")


class SegmentsSettings(BaseSettings):
    """[segments] in config.toml; each also an environment variable (the reference's names)."""

    model_config = SettingsConfigDict(extra="forbid")

    pool_size: int = Field(default=100, ge=1, le=10_000,
                           validation_alias=AliasChoices("pool_size", "POOL_SIZE"))
    save_after_pools: int = Field(default=40, ge=1, le=1000, validation_alias=AliasChoices(
        "save_after_pools", "SAVE_AFTER_POOLS"))
    # Saves of one segmentation job run side by side, each on its own connection: the work is
    # PostgreSQL's, and one statement uses one core.
    segmentation_parallel: int = Field(default=2, ge=1, le=16, validation_alias=AliasChoices(
        "segmentation_parallel", "SEGMENTATION_PARALLEL"))
    enable_segmentation_wf_triggers: bool = Field(default=False, validation_alias=AliasChoices(
        "enable_segmentation_wf_triggers", "ENABLE_SEGMENTATION_WF_TRIGGERS"))

    @field_validator("enable_segmentation_wf_triggers", mode="before")
    @classmethod
    def _yes(cls, value: Any) -> Any:
        # The reference spells it ENABLE_SEGMENTATION_WF_TRIGGERS=yes; anything else is off.
        if isinstance(value, str):
            return value.strip().lower() in YES
        return value


@dataclass
class SegmentsResources:
    """What these job types share in one process: the job-work pool, stores and settings."""

    pool: asyncpg.Pool
    settings: SegmentsSettings
    cdp: CdpStore


@asynccontextmanager
async def open_resources(env: Any) -> AsyncIterator[SegmentsResources]:
    """Resources for the process; the collector's post-event hook is registered meanwhile."""
    from services.cdp.hooks import register_post_event_hook, unregister_post_event_hook
    from services.cdp.segments.post_event import PostEvent

    settings = env.settings if isinstance(env.settings, SegmentsSettings) else SegmentsSettings()
    res = SegmentsResources(env.job_pool, settings, CdpStore(env.job_pool))
    hook = PostEvent(res)
    register_post_event_hook(hook)
    try:
        yield res
    finally:
        unregister_post_event_hook(hook)
