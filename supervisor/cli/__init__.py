"""The `supervisor` command line."""

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


def main() -> None:
    """Console-script entry point."""
    app()
