"""Effective settings: built-in defaults < config.toml < environment variables."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EX_CONFIG = 78  # sysexits.h: systemd's RestartPreventExitStatus keeps a bad setting from looping
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """A setting has a value the daemon cannot use."""


@dataclass(frozen=True)
class Setting:
    """One setting: its env name, type, default, what it accepts, and what it is for."""

    env: str
    kind: type
    default: Any
    help: str
    minimum: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The attribute name and the config.toml key."""
        return self.env.lower()

    def allowed(self) -> str:
        """Human text for what this setting accepts."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.kind is bool:
            return "true or false"
        if self.kind in (int, float):
            noun = "an integer" if self.kind is int else "a number"
            return f"{noun} >= {self.minimum:g}" if self.minimum is not None else noun
        return "a string"


def _s(env: str, kind: type, default: Any, help: str, **kw: Any) -> Setting:
    return Setting(env, kind, default, help, **kw)


SETTINGS: tuple[Setting, ...] = (
    _s("DATABASE_URL", str, None, "PostgreSQL DSN; unset: an embedded PostgreSQL in DATA_DIR"),
    _s("DATA_DIR", str, "./data", "where the daemon keeps files (embedded PostgreSQL, objects)"),
    _s("PARALLEL_JOBS", int, 4, "workers running first-time jobs at once", minimum=1),
    _s("JOB_IN_QUEUE_SIZE", int, 100, "most claimed jobs held in memory (backpressure)", minimum=1),
    _s("TICKER_INTERVAL_MINUTES", float, 5.0, "runner fallback poll interval, minutes",
       minimum=0.001),
    _s("JOB_WORKER_POLL_MS", int, None, "runner fallback poll interval in ms; overrides "
       "TICKER_INTERVAL_MINUTES when set", minimum=1),
    _s("JOB_WORKER_BATCH", int, 100, "most jobs claimed in one statement", minimum=1),
    _s("JOB_SCHEDULER_POLL_MS", int, 60000, "scheduler tick interval in ms", minimum=1),
    _s("JOB_SCHEDULER_BATCH", int, 25, "due schedules taken per scheduler transaction", minimum=1),
    _s("RETRY_BACKOFF", str, "fixed", "wait between tries: retry_interval each time (fixed) or "
       "retry_interval * 2^(attempt-1) (exponential)", choices=("fixed", "exponential")),
    _s("SHUTDOWN_GRACE_SECONDS", float, 30.0, "how long running jobs may finish on shutdown "
       "before they are interrupted and re-opened", minimum=0),
    _s("NODE_HEARTBEAT_SECONDS", float, 5.0, "how often this process proves it is alive",
       minimum=0.1),
    _s("NODE_STALE_SECONDS", float, 30.0, "heartbeat age after which a process's jobs are "
       "rescued", minimum=0.5),
    _s("RESCUE_INTERVAL_SECONDS", float, 10.0, "how often the rescue loop looks for orphaned "
       "jobs", minimum=0.1),
    _s("RESTART_LIMIT", int, 5, "crashes of one service allowed per RESTART_WINDOW_SECONDS "
       "before the process exits", minimum=0),
    _s("RESTART_WINDOW_SECONDS", float, 300.0, "window for RESTART_LIMIT", minimum=1),
    _s("LOGGING_LEVEL", str, "INFO", "log level", choices=LOG_LEVELS),
    _s("REDIS_HOST", str, None, "Redis host[:port] for cross-process wake-ups; optional"),
    _s("REDIS_PASSWORD", str, None, "Redis password"),
    _s("ELASTIC_HOST", str, None, "Elasticsearch URL(s), comma separated; unset: searchable "
       "records stay in PostgreSQL"),
    _s("PRODUCTION", bool, False, "production data: Elasticsearch indexes get the prod- prefix"),
    _s("API_HOST", str, "127.0.0.1", "HTTP API listen address"),
    _s("API_PORT", int, 8000, "HTTP API port", minimum=0),
)
BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}


@dataclass(frozen=True)
class Config:
    """The effective settings and where each value came from."""

    values: Mapping[str, Any]
    sources: Mapping[str, str]
    path: Path | None = None
    schedules: Mapping[str, Any] = field(default_factory=dict)
    # Tables of config.toml other than [schedules.*]: one per job family, checked by the family.
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __getattr__(self, key: str) -> Any:
        try:
            return self.values[key]
        except KeyError:
            raise AttributeError(key) from None

    @property
    def runner_poll_seconds(self) -> float:
        """Fallback poll interval of the first-time and retry runners."""
        if self.values["job_worker_poll_ms"] is not None:
            return float(self.values["job_worker_poll_ms"]) / 1000
        return float(self.values["ticker_interval_minutes"]) * 60

    def with_overrides(self, **values: Any) -> Config:
        """A copy with some values replaced (tests and CLI flags)."""
        merged = {**self.values, **values}
        sources = {**self.sources, **{k: "override" for k in values}}
        return Config(merged, sources, self.path, self.schedules, self.sections)


def _coerce(setting: Setting, raw: Any, origin: str) -> Any:
    """Turn a raw env or TOML value into the setting's type, or say exactly what is wrong."""
    if raw is None or raw == "":
        return setting.default if setting.default is None else _bad(setting, raw, origin)
    try:
        value = _convert(setting.kind, raw)
    except (TypeError, ValueError):
        _bad(setting, raw, origin)
    if setting.kind is str and setting.choices:
        value = value.upper() if setting.choices == LOG_LEVELS else value.lower()
    if setting.choices and value not in setting.choices:
        _bad(setting, raw, origin)
    if setting.minimum is not None and value < setting.minimum:
        _bad(setting, raw, origin)
    return value


def _convert(kind: type, raw: Any) -> Any:
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError(raw)
    if kind is int and (isinstance(raw, bool) or isinstance(raw, float)):
        raise TypeError(raw)
    return kind(raw)


def _bad(setting: Setting, raw: Any, origin: str) -> Any:
    raise ConfigError(
        f"{setting.env}={raw!r} (from {origin}) is invalid: {setting.env} must be "
        f"{setting.allowed()} ({setting.help})"
    )


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
            values[s.key], sources[s.key] = _coerce(s, data[s.key], str(path)), str(path)
        if s.env in env:
            values[s.key], sources[s.key] = _coerce(s, env[s.env], "env"), "env"
    return Config(values, sources, path if path.exists() else None, schedules, sections)


def describe(config: Config) -> list[tuple[str, str, str]]:
    """Rows of (ENV_NAME, effective value, source) for `supervisor config show`."""
    rows = []
    for s in SETTINGS:
        value = config.values[s.key]
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
