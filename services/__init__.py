"""The job types this product ships, one module per family."""

from __future__ import annotations

from supervisor.jobtypes import Registry


def build_registry() -> Registry:
    """Every shipped job type, registered by name."""
    from services import diagnostic

    return Registry([*diagnostic.JOB_TYPES])
