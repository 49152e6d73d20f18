"""Schedule rules shared by the CLI, the HTTP API and config.toml: validate, store, explain."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError

from supervisor.jobtypes import JobInputError, Registry
from supervisor.jsonvalues import INT32_MAX, unstorable
from supervisor.schedule.cron import CronError, CronSchedule, TimeZoneError, explain
from supervisor.schedule.rules import MISFIRE_LIMIT_MAX, compile_cron, next_fire
from supervisor.store.schedules import FIELDS, ScheduleStore

SOURCES = ("api", "cli", "config")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
EXPLAIN_MAX = 1000
Policy = Literal["coalesce", "fire_all", "skip"]


class ScheduleError(ValueError):
    """A schedule the product refuses; `field` names the offending field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ScheduleNotFound(LookupError):
    """No schedule has that name."""


class ScheduleSpec(BaseModel):
    """A whole schedule definition, as created by the API, the CLI or config.toml."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    cron: str
    timezone: str = "UTC"
    job_type: str
    data: dict[str, Any] = Field(default_factory=dict)
    retry_count: StrictInt = Field(0, ge=0, le=INT32_MAX)
    retry_interval: StrictInt = Field(30, ge=0, le=INT32_MAX)
    active: StrictBool = True
    misfire_policy: Policy = "coalesce"
    misfire_limit: StrictInt = Field(100, ge=1, le=MISFIRE_LIMIT_MAX)
    overlap: StrictBool = False


class SchedulePatch(BaseModel):
    """Changes to a schedule: only the fields given are touched; the name never changes."""

    model_config = ConfigDict(extra="forbid")
    cron: str | None = None
    timezone: str | None = None
    job_type: str | None = None
    data: dict[str, Any] | None = None
    retry_count: StrictInt | None = Field(None, ge=0, le=INT32_MAX)
    retry_interval: StrictInt | None = Field(None, ge=0, le=INT32_MAX)
    active: StrictBool | None = None
    misfire_policy: Policy | None = None
    misfire_limit: StrictInt | None = Field(None, ge=1, le=MISFIRE_LIMIT_MAX)
    overlap: StrictBool | None = None


def spec_from_mapping(name: str, table: Mapping[str, Any]) -> ScheduleSpec:
    """A spec from loose data (a config.toml table); ScheduleError names the bad field."""
    try:
        return ScheduleSpec.model_validate({**table, "name": name})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or None
        raise ScheduleError(f"{where}: {err['msg']}", field=where) from None


def check_schedule(registry: Registry, values: Mapping[str, Any]) -> CronSchedule:
    """Validate a schedule's time zone, cron, job type and payload; the compiled schedule."""
    try:
        cron = compile_cron(values["cron"], values["timezone"])
    except TimeZoneError as exc:
        raise ScheduleError(str(exc), field="timezone") from None
    except CronError as exc:
        raise ScheduleError(f"cron {values['cron']!r}: {exc}", field="cron") from None
    if (bad := unstorable(values["data"], "data")) is not None:
        raise ScheduleError(f"{bad[0]}: {bad[1]}", field=bad[0])
    try:
        registry.validate(values["job_type"], values["data"])
    except JobInputError as exc:
        field = (exc.field or "data").replace("job_data", "data", 1)
        raise ScheduleError(str(exc).replace("job_data", "data"), field=field) from None
    return cron


def plain(row: asyncpg.Record | Mapping[str, Any]) -> dict[str, Any]:
    """A database row as JSON-friendly values."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in ("notified", "inserted"):
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, UUID):
            value = str(value)
        out[key] = value
    return out


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ScheduleService:
    """Create, change, inspect and fire schedules, refusing bad ones with the field named."""

    def __init__(self, pool: asyncpg.Pool, registry: Registry, *,
                 clock: Callable[[], datetime] | None = None,
                 on_change: Callable[[], None] | None = None) -> None:
        self.store = ScheduleStore(pool)
        self.registry = registry
        self.clock = clock or _utcnow
        self.on_change = on_change

    def changed(self) -> None:
        """Tell the in-process scheduler a schedule changed."""
        if self.on_change is not None:
            self.on_change()

    def check(self, values: Mapping[str, Any]) -> CronSchedule:
        """Validate time zone, cron, job type and payload; the compiled schedule."""
        return check_schedule(self.registry, values)

    async def create(self, spec: ScheduleSpec, *, source: str = "api") -> dict[str, Any]:
        """Add a schedule; its first fire is the first occurrence after now."""
        if source not in SOURCES:
            raise ScheduleError(f"source must be one of {', '.join(SOURCES)}", field="source")
        values = spec.model_dump(exclude={"name"})
        cron = self.check(values)
        values["next_run_at"] = next_fire(cron, self.clock()) if spec.active else None
        row = await self.store.insert(spec.name, values, source)
        if row is None:
            raise ScheduleError(f"a schedule named {spec.name!r} already exists", field="name")
        self.changed()
        return plain(row)

    async def update(self, name: str, patch: SchedulePatch) -> dict[str, Any]:
        """Change a schedule; a new cron, zone or a resume recomputes the next fire from now."""
        row = await self._row(name)
        current = {f: row[f] for f in FIELDS}
        values = {**current, **patch.model_dump(exclude_none=True)}
        cron = self.check(values)
        moved = any(values[k] != current[k] for k in ("cron", "timezone", "active"))
        reschedule = moved or row["last_error"] is not None or values["next_run_at"] is None
        if reschedule:
            values["next_run_at"] = next_fire(cron, self.clock()) if values["active"] else None
        updated = await self.store.update(name, values, reschedule=reschedule)
        if updated is None:
            raise ScheduleNotFound(f"no schedule named {name!r}")
        self.changed()
        return plain(updated)

    async def get(self, name: str) -> dict[str, Any]:
        """One schedule with its counters."""
        return plain(await self._row(name))

    async def list(self, *, active: bool | None = None) -> builtins.list[dict[str, Any]]:
        """Every schedule by name, optionally only active (True) or paused (False) ones."""
        return [plain(r) for r in await self.store.list(active)]

    async def pause(self, name: str) -> dict[str, Any]:
        """Stop firing until resumed."""
        row = await self.store.set_active(name, False, None)
        if row is None:
            raise ScheduleNotFound(f"no schedule named {name!r}")
        return plain(row)

    async def resume(self, name: str) -> dict[str, Any]:
        """Fire again from the next occurrence after now (paused time is not a misfire)."""
        row = await self._row(name)
        try:
            cron = compile_cron(row["cron"], row["timezone"])
        except (CronError, TimeZoneError) as exc:
            raise ScheduleError(f"cannot resume {name!r}: {exc}", field="cron") from None
        resumed = await self.store.set_active(name, True, next_fire(cron, self.clock()))
        if resumed is None:
            raise ScheduleNotFound(f"no schedule named {name!r}")
        self.changed()
        return plain(resumed)

    async def delete(self, name: str) -> None:
        """Remove a schedule; its past runs stay, unlinked."""
        if not await self.store.delete(name):
            raise ScheduleNotFound(f"no schedule named {name!r}")

    async def trigger(self, name: str) -> dict[str, Any]:
        """Create a run now, whatever the overlap setting; the job as a dict."""
        at = self.clock()
        row = await self.store.trigger(name, at)
        if row is None:
            await self._row(name)
            raise ScheduleError(f"{name!r} already has a run for {at.isoformat()}; try again")
        self.changed()
        return plain(row)

    async def history(self, name: str, limit: int = 20) -> builtins.list[dict[str, Any]]:
        """A schedule's runs, newest first, with status, timings and the last error."""
        await self._row(name)
        return [plain(r) for r in await self.store.history(name, limit)]

    async def events(self, name: str, limit: int = 20) -> builtins.list[dict[str, Any]]:
        """Overlap skips, coalesced and missed occurrences, errors and triggers, newest first."""
        await self._row(name)
        return [plain(r) for r in await self.store.events(name, limit)]

    async def explain(self, name_or_spec: str | ScheduleSpec,
                      count: int = 10) -> builtins.list[dict[str, Any]]:
        """The next `count` fires in UTC and local time, noting DST gaps and repeats."""
        if not 1 <= count <= EXPLAIN_MAX:
            raise ScheduleError(f"count must be between 1 and {EXPLAIN_MAX}", field="count")
        if isinstance(name_or_spec, str):
            row = await self._row(name_or_spec)
            source: Mapping[str, Any] = {"cron": row["cron"], "timezone": row["timezone"]}
        else:
            source = {"cron": name_or_spec.cron, "timezone": name_or_spec.timezone}
        try:
            cron = compile_cron(source["cron"], source["timezone"])
        except TimeZoneError as exc:
            raise ScheduleError(str(exc), field="timezone") from None
        except CronError as exc:
            raise ScheduleError(f"cron {source['cron']!r}: {exc}", field="cron") from None
        return [{"utc": f.utc.isoformat(), "local": f.local.isoformat(), "note": f.note}
                for f in explain(cron, self.clock(), count)]

    async def _row(self, name: str) -> asyncpg.Record:
        row = await self.store.get(name)
        if row is None:
            raise ScheduleNotFound(f"no schedule named {name!r}")
        return row
