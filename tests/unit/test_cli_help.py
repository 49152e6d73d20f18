"""Every command's help is whole: no '...' cut-offs, every option and argument explained."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from supervisor.cli import app


def _commands(cmd: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, cmd
    if isinstance(cmd, typer.core.TyperGroup):
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_help_is_not_cut_off(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    text = result.output.replace("[ARGS]...", "")
    assert "..." not in text, text


@pytest.mark.parametrize(("path", "cmd"), [c for c in COMMANDS if c[0]], ids=lambda v: (
    " ".join(v) if isinstance(v, tuple) else ""))
def test_every_option_and_argument_is_explained(path: tuple[str, ...],
                                                cmd: Any) -> None:
    unexplained = [p.name for p in cmd.params
                   if not getattr(p, "help", None) and p.name != "help"]
    assert not unexplained, f"{' '.join(path)}: no help for {unexplained}"
