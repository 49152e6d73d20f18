"""`supervisor run` and the document's runner modes `supervisor jobs first_time|retry`."""

from __future__ import annotations

import typer

from supervisor.cli import prune_cmd
from supervisor.cli.common import FullHelpGroup, fail, families, run_async, settings
from supervisor.daemon import Daemon, service_names

jobs_app = typer.Typer(
    cls=FullHelpGroup,
    help="Run one of the Jobs API runner modes alone (like `supervisor run --only NAME`).",
    no_args_is_help=True,
)


def _start(only: list[str] | None) -> None:
    config = settings()
    try:
        daemon = Daemon(config, families(config), only)
    except ValueError as exc:
        fail(str(exc), 2)
    raise typer.Exit(run_async(daemon.run))  # expected failures exit with their status


def register(app: typer.Typer) -> None:
    """Attach `run` and `jobs` to the main app."""

    @app.command("run", help=(
        "Run the daemon: every service, or the ones named by --only. Services: "
        + ", ".join(service_names()) + ". With no DATABASE_URL it starts its own PostgreSQL "
        "in DATA_DIR. SIGTERM or Ctrl-C stops it gracefully; a second one forces."))
    def run(
        only: str = typer.Option(
            None, "--only", metavar="NAMES",
            help="Comma-separated services to run, from: " + ", ".join(service_names()),
        ),
    ) -> None:
        names = None if only is None else [n.strip() for n in only.split(",") if n.strip()]
        if names == []:  # `--only ""` (an unset shell variable) must not mean "everything"
            fail("--only names no service; give one or more of " + ", ".join(service_names())
                 + ", or leave --only out to run them all", 2)
        _start(names)

    @jobs_app.command("first_time")
    def first_time() -> None:
        """Process new (open) jobs with PARALLEL_JOBS workers, plus the rescue loop."""
        _start(["rescue", "first_time"])

    @jobs_app.command("retry")
    def retry() -> None:
        """Retry failed jobs whose run_after has passed, one at a time."""
        _start(["retry"])

    prune_cmd.register(jobs_app)
    app.add_typer(jobs_app, name="jobs")
