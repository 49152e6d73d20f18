"""`supervisor config show|check`."""

from __future__ import annotations

from typing import Any

import typer

from supervisor.cli.common import FullHelpGroup, fail, families, print_json
from supervisor.config import EX_CONFIG, SETTINGS, Config, ConfigError, describe, load_config
from supervisor.families import Families
from supervisor.schedule.sync import invalid_tables
from supervisor.settings import env_names

app = typer.Typer(cls=FullHelpGroup, help="Inspect and check the effective settings.",
                  no_args_is_help=True)
SECRET_WORDS = ("password", "secret", "token", "key")


def _load() -> tuple[Config, Families]:
    try:
        config = load_config()
    except ConfigError as exc:
        fail(str(exc), EX_CONFIG)
    return config, families(config)


def family_rows(found: Families) -> list[tuple[str, str, str, str]]:
    """(ENV_NAME, value, source, help) of every family setting, secrets masked."""
    rows = []
    for lf in found:
        model = lf.family.settings
        if model is None:
            continue
        for name, info in model.model_fields.items():
            value: Any = getattr(lf.settings, name)
            shown = "" if value is None else str(value)
            if value and any(w in name for w in SECRET_WORDS):
                shown = "********"
            help_text = f"[{lf.family.name}] {info.description or name}"
            rows.append((env_names(name, info)[0], shown, lf.sources.get(name, "default"),
                         help_text))
    return rows


@app.command("show")
def show(as_json: bool = typer.Option(False, "--json", help="Print JSON, not a table.")) -> None:
    """Print every setting's effective value and where it came from (default, file, env).

    The runtime's settings come first, then each job family's (its config.toml section).
    """
    config, found = _load()
    helps = {s.env: s.help for s in SETTINGS}
    rows = [(n, v, s, helps[n]) for n, v, s in describe(config)] + family_rows(found)
    if as_json:
        print_json([{"name": n, "value": v, "source": s} for n, v, s, _ in rows])
        return
    width = max(len(n) for n, _, _, _ in rows)
    typer.echo(f"config file: {config.path or '(none found)'}")
    for name, value, source, help_text in rows:
        typer.echo(f"{name:<{width}}  {value or '-':<28} {source:<12} # {help_text}")


@app.command("check")
def check() -> None:
    """Validate the settings; exit 78 with the bad setting named if one is wrong."""
    config, found = _load()
    invalid = invalid_tables(found.registry, config.schedules)
    if invalid:
        fail("; ".join(f"[schedules.{name}] {why}" for name, why in invalid.items())
             + " (fix or remove the table; `supervisor schedule explain` shows valid forms)",
             EX_CONFIG)
    count = len(SETTINGS) + len(family_rows(found))
    typer.echo(f"config ok ({config.path or 'no config file'}; {count} settings, "
               f"{len(config.schedules)} schedules, {len(found.loaded)} job families)")
