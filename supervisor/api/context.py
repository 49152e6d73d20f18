"""What the API's routes use: the daemon's runtime (or a test's stand-in) and the key checker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

from supervisor.config import Config
from supervisor.jobtypes import Registry
from supervisor.store.jobs import JobStore


class RuntimeLike(Protocol):
    """The part of supervisor.daemon.Runtime the API needs."""

    config: Config
    registry: Registry
    pool: asyncpg.Pool
    jobs: JobStore
    draining: bool
    lanes: dict[str, Any]


@dataclass
class StandaloneRuntime:
    """A RuntimeLike for tests, benchmarks and embedding the app without the daemon."""

    config: Config
    registry: Registry
    pool: asyncpg.Pool
    jobs: JobStore
    draining: bool = False
    lanes: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.lanes = self.lanes or {}
