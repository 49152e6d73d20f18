"""`supervisor jobs prune`: delete finished work now, as the prune service does on its own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import typer

from supervisor.cli.common import fail, open_pool, run_async, settings
from supervisor.cluster.pruner import Pruner
from supervisor.retention import parse_duration, parse_retention
from supervisor.store.prune import TARGETS, PruneStore


def _retention(older_than: str | None, only: list[str] | None,
               configured: str) -> dict[str, timedelta | None]:
    bad = [t for t in only or [] if t not in TARGETS]
    if bad:
        fail(f"--what: {bad[0]!r} is not something the pruner deletes; choose from "
             f"{', '.join(TARGETS)}", 2)
    retention = parse_retention(configured)
    if older_than is not None:
        try:
            age = parse_duration(older_than)
        except ValueError as exc:
            fail(f"--older-than: {exc}", 2)
        retention = dict.fromkeys(retention, age)
    return {k: v for k, v in retention.items() if not only or k in only}


def register(jobs_app: typer.Typer) -> None:
    """Attach `prune` to the `jobs` group."""

    @jobs_app.command("prune")
    def prune(
        older_than: str = typer.Option(None, "--older-than", help="Delete what ended longer "
                                       "ago than this (e.g. 12h, 7d); default JOB_RETENTION"),
        what: list[str] = typer.Option(None, "--what", help="Only these; repeat for several: "
                                       + ", ".join(TARGETS)),
    ) -> None:
        """Delete finished jobs, old schedule events and stopped nodes now, in batches."""
        config = settings()
        retention = _retention(older_than, what, config.job_retention)

        async def go() -> Any:
            async with open_pool(config) as pool:
                pruner = Pruner(PruneStore(pool), retention, interval=60.0,
                                batch=config.prune_batch, pause=0.0)
                return await pruner.prune_once()

        deleted = run_async(go)
        if deleted is None:
            fail("another process is pruning right now; try again in a moment", 1)
        for target, keep in retention.items():
            if keep is None:
                typer.echo(f"{target:<16} kept (retention off)")
            else:
                typer.echo(f"{target:<16} {deleted.get(target, 0)} deleted (older than {keep})")
