"""`supervisor run` and the document's runner modes `supervisor jobs first_time|retry`."""

from __future__ import annotations

import typer

from supervisor.cli import prune_cmd
from supervisor.cli.common import fail, families, run_async, settings
from supervisor.daemon import Daemon, service_names
from supervisor.runtime.supervise import EX_SOFTWARE, ServiceFailed

jobs_app = typer.Typer(
    help="Run one of the Jobs API runner modes alone (like `supervisor run --only NAME`).",
    no_args_is_help=True,
)


def _start(only: list[str] | None) -> None:
    config = settings()
    try:
        daemon = Daemon(config, families(config), only)
    except ValueError as exc:
        fail(str(exc), 2)
    try:
        code = run_async(daemon.run)
    except Exception as exc:
        failed = _service_failure(exc)
        if failed is None:
            raise
        cause = failed.__cause__
        fail(f"{failed}: {type(cause).__name__}: {cause}" if cause else str(failed), EX_SOFTWARE)
    raise typer.Exit(code)


def _service_failure(exc: BaseException) -> ServiceFailed | None:
    """The ServiceFailed that stopped the daemon; task groups wrap it in exception groups."""
    if isinstance(exc, ServiceFailed):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            if (found := _service_failure(inner)) is not None:
                return found
    return None


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
        names = [n.strip() for n in only.split(",") if n.strip()] if only else None
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
