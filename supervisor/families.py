"""Job families: the plugin contract, their discovery, settings and per-process resources.

A family brings job types and what they need (settings, migrations, named SQL, clients, routes,
CLI commands, dashboard pages); see docs/families.md. The runtime imports no family: they come
through the `supervisor.families` entry-point group and SUPERVISOR_JOB_MODULES.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from supervisor.config import Config, ConfigError
from supervisor.errors import SupervisorError
from supervisor.jobtypes import JobType, Registry
from supervisor.settings import load_section
from supervisor.store.sql import Queries

ENTRY_POINT_GROUP = "supervisor.families"
MODULES_ENV = "SUPERVISOR_JOB_MODULES"  # a user's own modules, comma separated
RUNTIME_NAME = "supervisor"  # the runtime's own migrations are recorded under this name
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class FamilyError(SupervisorError):
    """Families that cannot be loaded together; the message names both sides."""


@dataclass(frozen=True)
class FamilyEnv:
    """What a family's resource factory gets."""

    settings: Any
    config: Config
    job_pool: Any  # asyncpg.Pool for job work, never the control plane's
    data_dir: Path
    redis: Any = None


ResourceFactory = Callable[[FamilyEnv], AbstractAsyncContextManager[Any]]


@dataclass(frozen=True)
class Family:
    """One family's declaration."""

    name: str
    job_types: Sequence[JobType] = ()
    settings: type[BaseModel] | None = None
    migrations: str | None = None
    queries: Queries | None = None
    resources: ResourceFactory | None = None
    routers: Sequence[Any] = ()  # fastapi.APIRouter
    cli: Callable[[Any], None] | None = None  # registers commands on the root typer app
    pages: Sequence[Any] = ()  # dashboard pages (supervisor.ui)


@dataclass
class LoadedFamily:
    """A family with its validated settings and, in a running process, its resources."""

    family: Family
    settings: Any = None
    sources: dict[str, str] = field(default_factory=dict)
    resources: Any = None


class Families:
    """Every family of this process, checked for clashes, with the registry of their types."""

    def __init__(self, families: Sequence[Family]) -> None:
        self.loaded: dict[str, LoadedFamily] = {}
        owner: dict[str, str] = {}
        for fam in families:
            if not _NAME.match(fam.name):
                raise FamilyError(f"family name {fam.name!r} must be lower case a-z, 0-9, _")
            if fam.name in self.loaded or fam.name == RUNTIME_NAME:
                raise FamilyError(f"two families are named {fam.name!r}")
            for jt in fam.job_types:
                if jt.name in owner:
                    raise FamilyError(f"job type {jt.name!r} is declared by both family "
                                      f"{owner[jt.name]!r} and family {fam.name!r}")
                owner[jt.name] = fam.name
            self.loaded[fam.name] = LoadedFamily(fam)
        self.owner = owner  # job type -> family name
        self.configured = False
        self.data_dir = Path(".")
        self.registry = Registry([jt for fam in families for jt in fam.job_types])

    def __iter__(self) -> Iterator[LoadedFamily]:
        return iter(self.loaded.values())

    def get(self, name: str) -> LoadedFamily:
        """The loaded family called `name`."""
        return self.loaded[name]

    def of_type(self, job_type: str) -> LoadedFamily | None:
        """The family that declares `job_type`."""
        name = self.owner.get(job_type)
        return None if name is None else self.loaded[name]

    def migration_sources(self) -> list[tuple[str, str]]:
        """(family name, migrations package) for every family with migrations."""
        return [(lf.family.name, lf.family.migrations) for lf in self if lf.family.migrations]

    def configure(self, config: Config, env: Mapping[str, str] | None = None) -> None:
        """Validate every family's section of config.toml and its environment variables."""
        env = os.environ if env is None else env
        origin = str(config.path) if config.path else "config.toml"
        stray = sorted(set(config.sections) - set(self.loaded))
        if stray:
            raise ConfigError(f"{origin}: section(s) [{'], ['.join(stray)}] belong to no "
                              f"installed family; families: {', '.join(self.loaded)}")
        for lf in self:
            model = lf.family.settings
            if model is not None:
                table = config.sections.get(lf.family.name, {})
                lf.settings, lf.sources = load_section(model, lf.family.name, table, env, origin)
        self.data_dir = Path(config.data_dir).resolve()
        self.configured = True

    async def open_resources(self, stack: AsyncExitStack, config: Config, job_pool: Any,
                             redis: Any = None) -> None:
        """Enter every family's resources for this process; `stack` closes them at exit."""
        if not self.configured:
            self.configure(config)
        for lf in self:
            if lf.family.resources is not None:
                env = FamilyEnv(lf.settings, config, job_pool, self.data_dir, redis)
                lf.resources = await stack.enter_async_context(lf.family.resources(env))

    def resources_by_type(self) -> dict[str, Any]:
        """Job type -> its family's resources (None for families without any)."""
        return {jt: self.loaded[name].resources for jt, name in self.owner.items()}


def _entry_point_families() -> list[Family]:
    found = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            obj = ep.load()
        except Exception as exc:
            raise FamilyError(f"family entry point {ep.name!r} ({ep.value}) cannot be "
                              f"loaded: {type(exc).__name__}: {exc}") from exc
        if not isinstance(obj, Family):
            raise FamilyError(f"family entry point {ep.name!r} ({ep.value}) is not a "
                              "supervisor.families.Family")
        found.append(obj)
    return found


def _module_family(module_name: str) -> Family:
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise FamilyError(f"{MODULES_ENV}: cannot import {module_name!r}: {exc}") from exc
    fam = getattr(module, "family", None)
    if isinstance(fam, Family):
        return fam
    types = getattr(module, "JOB_TYPES", None)
    if types is None:
        raise FamilyError(f"{MODULES_ENV}: module {module_name!r} has neither `family` (a "
                          "supervisor.families.Family) nor JOB_TYPES")
    name = re.sub(r"[^a-z0-9_]", "_", module_name.lower()).strip("_") or "user"
    return Family(name=name if name[0].isalpha() else f"m_{name}", job_types=tuple(types))


def discover(env: Mapping[str, str] | None = None) -> Families:
    """The installed families (entry points) and those named in SUPERVISOR_JOB_MODULES."""
    env = os.environ if env is None else env
    modules = [m.strip() for m in env.get(MODULES_ENV, "").split(",") if m.strip()]
    return Families([*_entry_point_families(), *(_module_family(m) for m in modules)])
