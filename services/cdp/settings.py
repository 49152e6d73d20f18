"""The [cdp] section of config.toml (and its environment variables)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CdpSettings(BaseSettings):
    """Customer data settings: the collector's system events, the heartbeat's page size."""

    model_config = SettingsConfigDict(extra="forbid")

    system_events: bool = Field(
        True, description="add profile-created, session-opened and visit-started while "
        "collecting")
    heartbeat_page_size: int = Field(
        1000, ge=1, le=100_000, description="sessions or profiles the heartbeat judges in one "
        "statement")
