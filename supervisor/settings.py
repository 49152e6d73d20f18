"""Typed settings sections: a pydantic model filled from a config.toml table and the environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import AliasChoices, BaseModel, ValidationError
from pydantic.fields import FieldInfo

from supervisor.config import ConfigError

M = TypeVar("M", bound=BaseModel)


def env_names(name: str, info: FieldInfo) -> list[str]:
    """The environment variables a field is read from: its aliases, else its upper-cased name."""
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return [c for c in alias.choices if isinstance(c, str)]
    if isinstance(alias, str):
        return [alias]
    return [name.upper()]


def load_section(
    model: type[M], section: str, table: Mapping[str, Any], env: Mapping[str, str], origin: str
) -> tuple[M, dict[str, str]]:
    """The validated section and where each value came from (default, the file, or env)."""
    unknown = sorted(set(table) - set(model.model_fields))
    if unknown:
        raise ConfigError(f"{origin}: [{section}] has unknown setting(s) {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(model.model_fields))}")
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    keys: dict[str, str] = {}  # the key a value is validated under -> field name
    for name, info in model.model_fields.items():
        names = env_names(name, info)
        key = names[0] if info.validation_alias else name
        keys[key] = name
        sources[name] = "default"
        if name in table:
            values[key], sources[name] = table[name], origin
        found = next((e for e in names if e in env), None)
        if found is not None:
            values[key], sources[name] = env[found], "env"
    try:
        return model.model_validate(values), sources
    except ValidationError as exc:
        raise ConfigError(_explain(exc, section, keys, sources, model)) from None


def _explain(exc: ValidationError, section: str, keys: Mapping[str, str],
             sources: Mapping[str, str], model: type[BaseModel]) -> str:
    err = exc.errors()[0]
    key = str(err["loc"][0]) if err["loc"] else ""
    name = keys.get(key, key)
    info = model.model_fields.get(name)
    env = "/".join(env_names(name, info)) if info is not None else name.upper()
    what = f" ({info.description})" if info is not None and info.description else ""
    return (f"{section}.{name}={err.get('input')!r} (from {sources.get(name, 'default')}, env "
            f"{env}) is invalid: {err['msg']}{what}")
