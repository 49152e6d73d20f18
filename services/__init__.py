"""The job types this product ships, one module per family, plus any named in the environment."""

from __future__ import annotations

import importlib
import os

from supervisor.jobtypes import JobType, Registry

# Extra job types: SUPERVISOR_JOB_MODULES=pkg.mod,other.mod, each exposing JOB_TYPES.
MODULES_ENV = "SUPERVISOR_JOB_MODULES"


def _extra_types() -> list[JobType]:
    found: list[JobType] = []
    for name in filter(None, (m.strip() for m in os.environ.get(MODULES_ENV, "").split(","))):
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise RuntimeError(f"{MODULES_ENV}: cannot import {name!r}: {exc}") from exc
        types = getattr(module, "JOB_TYPES", None)
        if types is None:
            raise RuntimeError(f"{MODULES_ENV}: module {name!r} has no JOB_TYPES")
        found.extend(types)
    return found


def build_registry() -> Registry:
    """Every shipped job type, and those of SUPERVISOR_JOB_MODULES, registered by name."""
    from services import diagnostic

    return Registry([*diagnostic.JOB_TYPES, *_extra_types()])
