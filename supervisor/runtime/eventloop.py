"""Which event loop the daemon runs on: uvloop where it is installed, else asyncio's own."""

from __future__ import annotations

import importlib.util
import os
from typing import Any

# SUPERVISOR_EVENT_LOOP=asyncio forces the standard loop (for debugging or comparison).
LOOP_ENV = "SUPERVISOR_EVENT_LOOP"


def backend_options() -> dict[str, Any]:
    """anyio.run backend options: uvloop when available, unless the environment says asyncio."""
    wanted = os.environ.get(LOOP_ENV, "uvloop")
    if wanted == "uvloop" and importlib.util.find_spec("uvloop") is not None:
        return {"use_uvloop": True}
    return {}
