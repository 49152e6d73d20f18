"""What the API's routes use: the daemon's runtime (or a test's stand-in) and the key checker."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg

from supervisor.config import Config
from supervisor.families import Families, LoadedFamily
from supervisor.jobtypes import Registry
from supervisor.store.jobs import JobStore


class RuntimeLike(Protocol):
    """The part of supervisor.daemon.Runtime the API needs."""

    config: Config
    families: Families
    registry: Registry
    pool: asyncpg.Pool
    jobs: JobStore
    draining: bool
    lanes: dict[str, Any]

    def family(self, name: str) -> LoadedFamily:
        """A loaded family by name."""


@dataclass
class StandaloneRuntime:
    """A RuntimeLike for tests, benchmarks and embedding the app without the daemon."""

    config: Config
    families: Families
    pool: asyncpg.Pool
    jobs: JobStore
    draining: bool = False
    lanes: dict[str, Any] = field(default_factory=dict)

    @property
    def registry(self) -> Registry:
        """The job types of every family."""
        return self.families.registry

    def family(self, name: str) -> LoadedFamily:
        """A loaded family by name."""
        return self.families.get(name)
