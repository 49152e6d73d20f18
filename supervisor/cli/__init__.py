"""The `supervisor` command line (the root command is in root.py)."""

from __future__ import annotations

from typing import Any

# Built on first use, not when this package is imported: a family's command modules import
# supervisor.cli.common, and building the root command loads every family's commands, so
# importing such a module first would otherwise find it half-initialised.
_ROOT_NAMES = ("app", "add_family_commands", "_command_names")


def main() -> None:
    """Console-script entry point."""
    from supervisor.cli.root import app

    app()


def __getattr__(name: str) -> Any:
    if name in _ROOT_NAMES:
        from supervisor.cli import root

        return getattr(root, name)
    raise AttributeError(f"module 'supervisor.cli' has no attribute {name!r}")
