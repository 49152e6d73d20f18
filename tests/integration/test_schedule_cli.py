"""`supervisor schedule ...` against a real database: the verbs, their output and exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supervisor.cli import app


@pytest.fixture
def cli(db_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A runner whose commands use this test's database and no config file."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_dsn)
    monkeypatch.setenv("LOGGING_LEVEL", "WARNING")
    monkeypatch.delenv("SUPERVISOR_CONFIG", raising=False)
    yield CliRunner()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, ["schedule", *args])
    assert result.exit_code == code, result.output
    return result.output


def test_add_list_show_trigger_history_remove(cli: CliRunner) -> None:
    out = run(cli, "add", "session-inactive", "--cron", "*/8 * * * *", "--type", "noop",
              "--data", '{"qualify_by": "inactive-session"}', "--retry-count", "1")
    assert out.startswith("created schedule session-inactive: next run ")
    run(cli, "add", "monthly", "--cron", "13 4 1 * *", "--tz", "Europe/Warsaw", "--type", "noop",
        "--misfire", "skip", "--paused")
    listing = run(cli, "list")
    assert "session-inactive" in listing and "paused" in listing
    assert "monthly" not in run(cli, "list", "--active")
    uuid = run(cli, "trigger", "session-inactive").strip()
    assert len(uuid) == 36
    history = run(cli, "history", "session-inactive")
    assert "open" in history and "triggered" not in history
    show = run(cli, "show", "session-inactive")
    assert "fired_count       1" in show and "triggered" in show
    assert '"qualify_by": "inactive-session"' in show
    run(cli, "resume", "monthly")
    run(cli, "edit", "monthly", "--cron", "0 5 1 * *", "--overlap")
    assert "0 5 1 * *" in run(cli, "show", "monthly")
    assert run(cli, "remove", "monthly") == "removed monthly\n"
    assert "monthly" not in run(cli, "list")


@pytest.mark.parametrize(("args", "words"), [
    (["--cron", "61 * * * *", "--type", "noop"], ["--cron", "minute", "0-59"]),
    (["--cron", "* * * * *", "--tz", "Mars/Base", "--type", "noop"], ["--tz", "Mars/Base"]),
    (["--cron", "* * * * *", "--type", "nope"], ["--type", "unknown job type"]),
    (["--cron", "* * * * *", "--type", "sleep", "--data", '{"seconds": -1}'],
     ["--data", "data.seconds"]),
    (["--cron", "* * * * *", "--type", "noop", "--data", "[1]"], ["--data", "JSON object"]),
    (["--cron", "* * * * *", "--type", "noop", "--misfire", "often"], ["--misfire"]),
])
def test_bad_input_exits_2_naming_the_option(
    cli: CliRunner, args: list[str], words: list[str],
) -> None:
    out = run(cli, "add", "x", *args, code=2)
    assert all(w in out for w in words), out
    assert "x " not in run(cli, "list")


def test_unknown_names_exit_1(cli: CliRunner) -> None:
    for verb in ("show", "pause", "resume", "remove", "trigger", "history", "explain"):
        assert "no schedule named 'ghost'" in run(cli, verb, "ghost", code=1)


def test_explain_flags_dst(cli: CliRunner) -> None:
    run(cli, "add", "w", "--cron", "30 2 * * *", "--tz", "Europe/Warsaw", "--type", "noop")
    assert len(run(cli, "explain", "w", "--count", "3").splitlines()) == 4
    out = run(cli, "explain", "--cron", "30 2 * * *", "--tz", "Europe/Warsaw", "--count", "400")
    assert "does not exist (DST gap)" in out and "occurs twice" in out
    assert "--count" in run(cli, "explain", "w", "--count", "0", code=2)
    assert "NAME or --cron" in run(cli, "explain", code=2)


BAD_VALUES = [
    (["--data", '{"a": NaN}'], "--data"), (["--data", '{"a": 1e999}'], "--data"),
    (["--data", '{"a": "\\u0000"}'], "--data"), (["--data", '{"a": [-Infinity]}'], "--data"),
    (["--retry-count", "9999999999999"], "--retry-count"),
    (["--retry-interval", "2147483648"], "--retry-interval"),
    (["--misfire-limit", "99999999999999999999"], "--misfire-limit"),
]


@pytest.mark.parametrize(("args", "option"), BAD_VALUES)
def test_unstorable_values_on_add_are_one_line_naming_the_option(
    cli: CliRunner, args: list[str], option: str,
) -> None:
    out = run(cli, "add", "x", "--cron", "* * * * *", "--type", "noop", *args, code=2)
    assert out.startswith(f"error: {option}") and len(out.strip().splitlines()) == 1, out
    assert "x " not in run(cli, "list")


@pytest.mark.parametrize(("args", "option"), BAD_VALUES)
def test_unstorable_values_on_edit_are_one_line_naming_the_option(
    cli: CliRunner, args: list[str], option: str,
) -> None:
    run(cli, "add", "x", "--cron", "* * * * *", "--type", "noop")
    out = run(cli, "edit", "x", *args, code=2)
    assert out.startswith(f"error: {option}") and len(out.strip().splitlines()) == 1, out
    assert '"data": {}' in run(cli, "list", "--json")
