"""The `supervisor` root command: the runtime's commands, then every family's."""

from __future__ import annotations

import typer

from supervisor.cli import (
    apikey_cmd,
    config_cmd,
    db_cmd,
    job_cmd,
    run_cmd,
    schedule_cmd,
    status_cmd,
)
from supervisor.cli.common import FullHelpGroup
from supervisor.families import FamilyError, discover

app = typer.Typer(
    cls=FullHelpGroup,
    name="supervisor",
    help="Run a data platform's background jobs from PostgreSQL: cron schedules, a worker pool, "
    "retries and rescue of crashed work, in one process.\n\n"
    "Start everything on embedded defaults with `supervisor run`; create a job with "
    "`supervisor job create noop`; see it with `supervisor job list`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
run_cmd.register(app)
status_cmd.register(app)
app.add_typer(job_cmd.app, name="job")
app.add_typer(schedule_cmd.app, name="schedule")
app.add_typer(db_cmd.app, name="db")
app.add_typer(config_cmd.app, name="config")
app.add_typer(apikey_cmd.app, name="apikey")


def _command_names(root: typer.Typer) -> list[str]:
    names = [c.name or (c.callback.__name__ if c.callback else "")
             for c in root.registered_commands]
    return names + [g.name or "" for g in root.registered_groups]


def add_family_commands(root: typer.Typer) -> None:
    """Let every installed family add its commands; two claiming one name is an error."""
    try:
        found = discover()
    except FamilyError as exc:
        # `supervisor run` and `config check` stop on it with exit 78; say it here too, once,
        # so a family's missing commands are never a silent mystery.
        typer.secho(f"warning: job family commands not loaded: {exc}", err=True,
                    fg=typer.colors.YELLOW)
        return
    taken = {n: "supervisor" for n in _command_names(root)}
    for lf in found:
        if lf.family.cli is None:
            continue
        lf.family.cli(root)
        for name in _command_names(root):
            if name not in taken:
                taken[name] = lf.family.name
            elif _command_names(root).count(name) > 1:
                raise FamilyError(f"command {name!r} is claimed by both {taken[name]!r} and "
                                  f"family {lf.family.name!r}")


add_family_commands(app)
