"""Effective settings: built-in defaults < config.toml < environment variables.

The settings are one pydantic model, so every access is typed (mypy checks `config.x`) and
every value has finite bounds; the loader keeps where each value came from and turns a bad
value into one sentence naming the setting, its source and what is allowed.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import annotated_types
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from supervisor.retention import DEFAULT_TEXT, parse_retention

EX_CONFIG = 78  # sysexits.h: systemd's RestartPreventExitStatus keeps a bad setting from looping
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DAY = 86_400.0


class ConfigError(ValueError):
    """A setting has a value the daemon cannot use."""


def _f(default: Any, help: str, ge: float | None = None, le: float | None = None) -> Any:
    return Field(default, description=help, ge=ge, le=le)


class Settings(BaseModel):
    """Every runtime setting; the field name is the config.toml key, upper-cased the env var."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=False)

    database_url: str | None = _f(None, "PostgreSQL DSN; unset: an embedded PostgreSQL in DATA_DIR")
    data_dir: str = _f("./data", "where the daemon keeps files (embedded PostgreSQL, objects)")
    parallel_jobs: int = _f(4, "workers running first-time jobs at once", 1, 1000)
    job_in_queue_size: int = _f(100, "most claimed jobs held in memory (backpressure)", 1, 100_000)
    ticker_interval_minutes: float = _f(5.0, "runner fallback poll interval, minutes", 0.001, 1440)
    job_worker_poll_ms: int | None = _f(None, "runner fallback poll interval in ms; overrides "
                                        "TICKER_INTERVAL_MINUTES when set", 1, 86_400_000)
    job_worker_batch: int = _f(100, "most jobs claimed in one statement", 1, 10_000)
    job_scheduler_poll_ms: int = _f(60000, "scheduler tick interval in ms", 1, 86_400_000)
    job_scheduler_batch: int = _f(25, "due schedules taken per scheduler transaction", 1, 10_000)
    retry_backoff: Literal["fixed", "exponential"] = _f(
        "fixed", "wait between tries: retry_interval each time (fixed) or "
        "retry_interval * 2^(attempt-1) (exponential)")
    retry_max_delay_seconds: float = _f(3600.0, "longest exponential wait between tries (jitter "
                                        "takes up to 10 % off)", 1, 30 * DAY)
    shutdown_grace_seconds: float = _f(30.0, "how long running jobs may finish on shutdown "
                                       "before they are interrupted and re-opened", 0, DAY)
    node_heartbeat_seconds: float = _f(5.0, "how often this process proves it is alive", 0.1, 3600)
    node_stale_seconds: float = _f(30.0, "heartbeat age after which a process's jobs are "
                                   "rescued", 0.5, DAY)
    rescue_interval_seconds: float = _f(10.0, "how often the rescue loop looks for orphaned "
                                        "jobs", 0.1, 3600)
    restart_limit: int = _f(5, "crashes of one service allowed per RESTART_WINDOW_SECONDS "
                            "before the process exits", 0, 10_000)
    restart_window_seconds: float = _f(300.0, "window for RESTART_LIMIT", 1, DAY)
    job_retention: str = _f(DEFAULT_TEXT, "how long finished work is kept before the prune "
                            "service deletes it (NAME=DURATION, or off)")
    prune_interval_seconds: float = _f(300.0, "how often the prune service runs", 1, DAY)
    prune_batch: int = _f(1000, "rows deleted per prune transaction", 1, 100_000)
    logging_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = _f("INFO",
                                                                               "log level")
    redis_host: str | None = _f(None, "Redis host[:port] for cross-process wake-ups; optional")
    redis_password: str | None = _f(None, "Redis password")
    elastic_host: str | None = _f(None, "Elasticsearch URL(s), comma separated; unset: "
                                  "searchable records stay in PostgreSQL")
    production: bool = _f(False, "production data: Elasticsearch indexes get the prod- prefix")
    api_host: str = _f("127.0.0.1", "HTTP API listen address")
    api_port: int = _f(8000, "HTTP API port (0: any free port)", 0, 65535)
    metrics_require_key: bool = _f(False, "require an X-API-Key on /metrics (open by default)")

    @field_validator("logging_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("job_retention")
    @classmethod
    def _retention(cls, value: str) -> str:
        parse_retention(value)  # a ValueError names the entry and the form
        return value

    @field_validator("retry_backoff", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("*", mode="before")
    @classmethod
    def _no_float_for_int(cls, value: Any, info: Any) -> Any:
        # pydantic's lax mode reads 2.0 as 2; a setting written 2.5 or true is a mistake.
        if isinstance(value, bool | float) and info.field_name in _INT_FIELDS:
            raise ValueError("not an integer")
        return value


_INT_FIELDS = frozenset(n for n, f in Settings.model_fields.items()
                        if f.annotation in (int, int | None))


class Config(Settings):
    """The effective settings, where each came from, and the file's other tables."""

    _sources: dict[str, str] = PrivateAttr(default_factory=dict)
    _path: Path | None = PrivateAttr(default=None)
    _schedules: dict[str, Any] = PrivateAttr(default_factory=dict)
    _sections: dict[str, dict[str, Any]] = PrivateAttr(default_factory=dict)

    @property
    def sources(self) -> Mapping[str, str]:
        """Setting key -> "default", the config file's path, "env" or "override"."""
        return self._sources

    @property
    def path(self) -> Path | None:
        """The config file read, if any."""
        return self._path

    @property
    def schedules(self) -> Mapping[str, Any]:
        """The [schedules.NAME] tables of the file."""
        return self._schedules

    @property
    def sections(self) -> Mapping[str, Mapping[str, Any]]:
        """Other tables of the file: one per job family, checked by the family."""
        return self._sections

    @property
    def values(self) -> dict[str, Any]:
        """Every setting by key."""
        return self.model_dump()

    @property
    def runner_poll_seconds(self) -> float:
        """Fallback poll interval of the first-time and retry runners."""
        if self.job_worker_poll_ms is not None:
            return self.job_worker_poll_ms / 1000
        return self.ticker_interval_minutes * 60

    def with_overrides(self, **values: Any) -> Config:
        """A validated copy with some values replaced (tests and CLI flags)."""
        sources = {**self._sources, **{k: "override" for k in values}}
        return _build({**self.model_dump(), **values}, sources, self._path, self._schedules,
                      self._sections)


@dataclass(frozen=True)
class Setting:
    """One setting as `config show` lists it: env name, default, what it is for."""

    env: str
    default: Any
    help: str

    @property
    def key(self) -> str:
        """The attribute name and the config.toml key."""
        return self.env.lower()


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(name.upper(), info.default, info.description or "")
    for name, info in Settings.model_fields.items()
)
BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}


def allowed(key: str) -> str:
    """Human text for what a setting accepts."""
    info = Settings.model_fields[key]
    choices = [a for a in get_args(info.annotation) if isinstance(a, str)]
    if choices:
        return "one of " + ", ".join(choices)
    if info.annotation is bool:
        return "true or false"
    low = next((m.ge for m in info.metadata if isinstance(m, annotated_types.Ge)), None)
    high = next((m.le for m in info.metadata if isinstance(m, annotated_types.Le)), None)
    if key in _INT_FIELDS or info.annotation in (float, float | None):
        noun = "an integer" if key in _INT_FIELDS else "a number"
        return f"{noun} from {low:g} to {high:g}" if low is not None else noun
    return "a string"


def _build(values: dict[str, Any], sources: dict[str, str], path: Path | None,
           schedules: Mapping[str, Any], sections: Mapping[str, Any]) -> Config:
    try:
        config = Config.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else ""
        raise ConfigError(_bad(key, values.get(key), sources.get(key, "default"),
                               err["msg"])) from None
    config._sources, config._path = sources, path
    config._schedules, config._sections = dict(schedules), dict(sections)
    _check_together(config)
    return config


def _bad(key: str, raw: Any, origin: str, why: str = "") -> str:
    if key not in Settings.model_fields:
        return f"{why}"
    env = key.upper()
    return (f"{env}={raw!r} (from {origin}) is invalid: {env} must be {allowed(key)} "
            f"({BY_KEY[key].help})")


def _check_together(config: Config) -> None:
    """Rules between settings: a process must be able to heartbeat before it looks dead."""
    if config.node_stale_seconds < 2 * config.node_heartbeat_seconds:
        raise ConfigError(
            f"NODE_STALE_SECONDS={config.node_stale_seconds:g} (from "
            f"{config.sources.get('node_stale_seconds', 'default')}) is invalid: it must be at "
            f"least twice NODE_HEARTBEAT_SECONDS ({config.node_heartbeat_seconds:g}), or live "
            "processes are taken for dead")


def default_config_path(env: Mapping[str, str]) -> Path:
    """SUPERVISOR_CONFIG if set, else ./config.toml."""
    return Path(env.get("SUPERVISOR_CONFIG", "config.toml"))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def load_config(
    env: Mapping[str, str] | None = None, path: Path | None = None, *, required: bool = False
) -> Config:
    """Merge defaults, the TOML file (if present) and the environment."""
    env = os.environ if env is None else env
    path = path or default_config_path(env)
    data: dict[str, Any] = {}
    if path.exists():
        data = _read_toml(path)
    elif required or "SUPERVISOR_CONFIG" in env:
        raise ConfigError(f"config file {path} does not exist (set SUPERVISOR_CONFIG or create it)")
    schedules = data.pop("schedules", {})
    sections = {k: data.pop(k) for k in [k for k, v in data.items() if isinstance(v, dict)]}
    unknown = sorted(k for k in data if k not in BY_KEY)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}; known: "
                          + ", ".join(sorted(BY_KEY)))
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for s in SETTINGS:
        values[s.key], sources[s.key] = s.default, "default"
        if s.key in data:
            values[s.key], sources[s.key] = data[s.key], str(path)
        if s.env in env:
            raw = env[s.env]
            # An empty variable means "not set" for optional settings (systemd env files).
            if raw == "" and s.default is None:
                continue
            values[s.key], sources[s.key] = raw, "env"
    return _build(values, sources, path if path.exists() else None, schedules, sections)


def describe(config: Config) -> list[tuple[str, str, str]]:
    """Rows of (ENV_NAME, effective value, source) for `supervisor config show`."""
    rows = []
    values = config.model_dump()
    for s in SETTINGS:
        value = values[s.key]
        shown = "" if value is None else str(value)
        if s.env in ("REDIS_PASSWORD",) and value:
            shown = "********"
        if s.env == "DATABASE_URL" and value:
            shown = mask_dsn(str(value))
        rows.append((s.env, shown, config.sources[s.key]))
    return rows


def mask_dsn(dsn: str) -> str:
    """Hide the password part of a DSN."""
    if "@" not in dsn or "://" not in dsn:
        return dsn
    scheme, rest = dsn.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:****@{host}" if ":" in creds else dsn
