"""`supervisor data export` refuses bad input with one clear line and no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from services.contacts.export_cli import data_app, register
from services.contacts.vql import MISSING_SELECT_COLUMNS


def app() -> typer.Typer:
    root = typer.Typer(pretty_exceptions_enable=False)

    @root.command()
    def other() -> None:
        """A second command, so `data` stays a group."""

    register(root)
    return root


def run(tmp_path: Path, content: str | None, *extra: str) -> tuple[int, str]:
    path = tmp_path / "q.json"
    if content is not None:
        path.write_text(content)
    result = CliRunner().invoke(app(), ["data", "export", "--vql", str(path), *extra])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_missing_file(tmp_path: Path) -> None:
    code, out = run(tmp_path, None, "--service", "contact")
    assert code == 2 and "cannot read it" in out and "q.json" in out


def test_invalid_json(tmp_path: Path) -> None:
    code, out = run(tmp_path, '{"select_columns": [', "--service", "contact")
    assert code == 2 and "not valid JSON" in out and "line 1" in out


def test_not_an_object(tmp_path: Path) -> None:
    code, out = run(tmp_path, "[1, 2]", "--service", "contact")
    assert code == 2 and "one JSON object" in out


@pytest.mark.parametrize(("vql", "service", "expect"), [
    ("{}", "contact", MISSING_SELECT_COLUMNS),
    ('{"select_columns": ["nmae"]}', "company", "unknown field 'nmae' for service company"),
    ('{"select_columns": ["email"]}', "people", "service 'people' is not one of contact"),
])
def test_bad_queries_are_refused_before_anything_runs(tmp_path: Path, vql: str, service: str,
                                                      expect: str) -> None:
    code, out = run(tmp_path, vql, "--service", service)
    assert code == 2
    assert expect in " ".join(out.split())


def test_data_group_is_shared() -> None:
    root = typer.Typer()
    first = data_app(root)
    assert data_app(root) is first
