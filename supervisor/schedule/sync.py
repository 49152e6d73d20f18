"""Declarative schedules: the `[schedules.NAME]` tables of config.toml, synced into PostgreSQL.

Rules: the file owns every schedule it names (one created by the API or CLI under the same
name is taken over, with a warning). An unchanged cron, zone and active flag keep
next_run_at, so a restart after downtime applies the misfire policy. A table that fails
validation is reported with its name and field and skipped; if an earlier valid version is
in the database it stays in force. Config schedules the file no longer names are paused
(not deleted), so their history stays and `supervisor schedule remove` can finish the job.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from supervisor.jobtypes import Registry
from supervisor.schedule.rules import next_fire
from supervisor.schedule.service import (
    ScheduleError,
    ScheduleService,
    check_schedule,
    spec_from_mapping,
)

log = logging.getLogger("supervisor.schedule.scheduler")


@dataclass
class SyncReport:
    """What a sync did, by schedule name."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    invalid: dict[str, str] = field(default_factory=dict)
    deactivated: list[str] = field(default_factory=list)


def _values(service: ScheduleService, name: str, table: Any) -> dict[str, Any]:
    """The validated column values of one table, or ScheduleError."""
    if not isinstance(table, Mapping):
        raise ScheduleError(f"[schedules.{name}] must be a table of settings")
    spec = spec_from_mapping(name, table)
    values = spec.model_dump(exclude={"name"})
    cron = service.check(values)
    values["next_run_at"] = next_fire(cron, service.clock()) if spec.active else None
    return values


def invalid_tables(registry: Registry, tables: Mapping[str, Any]) -> dict[str, str]:
    """Schedule name -> what is wrong, for every table that would be skipped at start."""
    invalid: dict[str, str] = {}
    for name, table in tables.items():
        try:
            if not isinstance(table, Mapping):
                raise ScheduleError(f"[schedules.{name}] must be a table of settings")
            check_schedule(registry, spec_from_mapping(name, table).model_dump(exclude={"name"}))
        except ScheduleError as exc:
            invalid[name] = str(exc)
    return invalid


async def sync_config(service: ScheduleService, tables: Mapping[str, Any]) -> SyncReport:
    """Upsert every valid table, report the invalid ones, pause config schedules now gone."""
    report = SyncReport()
    for name, table in tables.items():
        try:
            values = _values(service, name, table)
        except ScheduleError as exc:
            report.invalid[name] = str(exc)
            log.error("config.toml schedule %s is invalid and was skipped: %s", name, exc,
                      extra={"action": "schedule_sync", "schedule": name, "field": exc.field})
            continue
        before = await service.store.get(name)
        row = await service.store.upsert_config(name, values)
        if row["inserted"]:
            report.created.append(name)
        elif before is not None and row["updated_at"] != before["updated_at"]:
            report.updated.append(name)
        if before is not None and before["source"] != "config":
            log.warning("config.toml now owns schedule %s (it was created by %s)", name,
                        before["source"], extra={"action": "schedule_sync", "schedule": name})
    report.deactivated = await service.store.deactivate_config_except(list(tables))
    for name in report.deactivated:
        log.warning("schedule %s is no longer in config.toml: paused", name,
                    extra={"action": "schedule_sync", "schedule": name})
    log.info("synced config.toml schedules", extra={
        "action": "schedule_sync", "declared": len(tables), "added": len(report.created),
        "updated": len(report.updated), "invalid": len(report.invalid),
        "deactivated": len(report.deactivated)})
    if report.created or report.updated or report.deactivated:
        service.changed()
    return report
