"""`supervisor config show|check`."""

from __future__ import annotations

import typer

from supervisor.cli.common import FullHelpGroup, fail, print_json
from supervisor.config import EX_CONFIG, SETTINGS, ConfigError, describe, load_config

app = typer.Typer(cls=FullHelpGroup, help="Inspect and check the effective settings.",
                  no_args_is_help=True)


@app.command("show")
def show(as_json: bool = typer.Option(False, "--json", help="Print JSON, not a table.")) -> None:
    """Print every setting's effective value and where it came from (default, file, env)."""
    try:
        config = load_config()
    except ConfigError as exc:
        fail(str(exc), EX_CONFIG)
    rows = describe(config)
    if as_json:
        print_json([{"name": n, "value": v, "source": s} for n, v, s in rows])
        return
    width = max(len(n) for n, _, _ in rows)
    helps = {s.env: s.help for s in SETTINGS}
    typer.echo(f"config file: {config.path or '(none found)'}")
    for name, value, source in rows:
        typer.echo(f"{name:<{width}}  {value or '-':<28} {source:<12} # {helps[name]}")


@app.command("check")
def check() -> None:
    """Validate the settings; exit 78 with the bad setting named if one is wrong."""
    try:
        config = load_config()
    except ConfigError as exc:
        fail(str(exc), EX_CONFIG)
    typer.echo(f"config ok ({config.path or 'no config file'}; {len(SETTINGS)} settings)")
