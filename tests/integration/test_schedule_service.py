"""The schedule service the CLI and the HTTP API share: validation, lifecycle, history, explain,
config.toml sync, and waking the scheduler when a schedule changes."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import anyio
import asyncpg
import pytest

from supervisor.cluster.listener import Listener, WakeHub
from supervisor.schedule.scheduler import Scheduler
from supervisor.schedule.service import (
    ScheduleError,
    ScheduleNotFound,
    SchedulePatch,
    ScheduleService,
    ScheduleSpec,
    spec_from_mapping,
)
from supervisor.schedule.sync import sync_config
from tests.helpers import eventually
from tests.integration.schedule_support import SimClock, add, fired, registry, scheduler, service

T0 = datetime(2025, 6, 2, 9, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"cron": "61 * * * *"}, "cron", ["minute", "0-59"]),
    ({"cron": "* * *"}, "cron", ["5 fields"]),
    ({"cron": "0 0 31 2 *"}, "cron", ["never"]),
    ({"timezone": "Mars/Base"}, "timezone", ["Mars/Base", "IANA"]),
    ({"job_type": "nope"}, "job_type", ["nope", "noop", "sleep"]),
    ({"job_type": "sleep", "data": {"seconds": -1}}, "data.seconds", ["data.seconds"]),
    ({"job_type": "sleep", "data": {"secs": 1}}, "data.secs", ["data.secs"]),
])
async def test_bad_input_is_refused_naming_the_field(
    pool: asyncpg.Pool, changes: dict[str, Any], field: str, words: list[str],
) -> None:
    svc = service(pool, SimClock(T0))
    spec = {"name": "x", "cron": "* * * * *", "job_type": "noop", **changes}
    with pytest.raises(ScheduleError) as create_error:
        await svc.create(ScheduleSpec(**spec))
    assert create_error.value.field == field
    assert all(w in str(create_error.value) for w in words), str(create_error.value)
    await add(svc, "ok", "* * * * *")
    with pytest.raises(ScheduleError) as update_error:
        await svc.update("ok", SchedulePatch(**changes))
    assert update_error.value.field == field
    assert await pool.fetchval("SELECT count(*) FROM scheduled_jobs") == 1


async def test_duplicate_names_and_unknown_schedules(pool: asyncpg.Pool) -> None:
    svc = service(pool, SimClock(T0))
    await add(svc, "dup", "* * * * *")
    with pytest.raises(ScheduleError) as exc:
        await add(svc, "dup", "*/5 * * * *")
    assert exc.value.field == "name"
    for call in (svc.get("ghost"), svc.pause("ghost"), svc.resume("ghost"), svc.delete("ghost"),
                 svc.trigger("ghost"), svc.history("ghost"), svc.explain("ghost"),
                 svc.update("ghost", SchedulePatch(overlap=True))):
        with pytest.raises(ScheduleNotFound):
            await call


@pytest.mark.parametrize(("table", "field"), [
    ({"cron": "* * * * *", "job_type": "noop", "misfire_policy": "often"}, "misfire_policy"),
    ({"cron": "* * * * *", "job_type": "noop", "colour": "red"}, "colour"),
    ({"job_type": "noop"}, "cron"),
    ({"cron": "* * * * *", "job_type": "noop", "misfire_limit": 0}, "misfire_limit"),
])
def test_loose_specs_name_the_bad_field(table: dict[str, Any], field: str) -> None:
    with pytest.raises(ScheduleError) as exc:
        spec_from_mapping("s", table)
    assert exc.value.field == field


async def test_lifecycle_is_json_friendly(pool: asyncpg.Pool) -> None:
    clock = SimClock(T0 + timedelta(seconds=30))
    svc = service(pool, clock)
    created = await add(svc, "nightly", "0 3 * * *", timezone="Europe/Warsaw",
                        data={"x": 1}, retry_count=2)
    json.dumps(created)
    assert created["next_run_at"] == "2025-06-03T01:00:00+00:00"  # 03:00 CEST
    assert (created["source"], created["active"], created["retry_count"]) == ("api", True, 2)
    paused = await svc.pause("nightly")
    assert (paused["active"], paused["next_run_at"]) == (False, None)
    assert [s["name"] for s in await svc.list(active=False)] == ["nightly"]
    assert await svc.list(active=True) == []
    clock.advance(days=10)
    resumed = await svc.resume("nightly")
    # The ten paused days are not misfires: it goes on from the next occurrence.
    assert resumed["next_run_at"] == "2025-06-13T01:00:00+00:00"
    changed = await svc.update("nightly", SchedulePatch(data={"x": 2}, overlap=True))
    assert (changed["data"], changed["overlap"]) == ({"x": 2}, True)
    assert changed["next_run_at"] == resumed["next_run_at"]  # no time field changed


async def test_trigger_history_and_delete(pool: asyncpg.Pool) -> None:
    clock = SimClock(T0)
    svc = service(pool, clock)
    await add(svc, "t", "0 0 1 1 *", retry_count=1)
    first = await svc.trigger("t")
    clock.advance(seconds=1)
    second = await svc.trigger("t")  # overlap is off, but a manual trigger is explicit
    assert first["scheduled_for"] == T0.isoformat() and first["retry_count"] == 1
    await pool.execute(
        "UPDATE jobs SET status = 'dead', started_at = $2,"
        " finished_at = $2::timestamptz + interval '1.5 s',"
        " job_response = '{\"runtime_errors\": [\"boom\", \"bang\"]}' WHERE uuid = $1",
        UUID(first["uuid"]), T0)
    history = await svc.history("t")
    assert [h["uuid"] for h in history] == [second["uuid"], first["uuid"]]
    done = history[1]
    assert (done["status"], done["error"], done["duration_s"]) == ("dead", "bang", 1.5)
    assert history[0]["status"] == "open" and history[0]["duration_s"] is None
    assert [e["kind"] for e in await svc.events("t")] == ["triggered", "triggered"]
    assert (await svc.get("t"))["fired_count"] == 2
    await svc.delete("t")
    assert await pool.fetchval("SELECT count(*) FROM jobs WHERE schedule_id IS NULL") == 2


async def test_explain_by_name_and_by_spec_flags_dst(pool: asyncpg.Pool) -> None:
    svc = service(pool, SimClock(datetime(2025, 3, 28, tzinfo=UTC)))
    await add(svc, "warsaw", "30 2 * * *", timezone="Europe/Warsaw")
    fires = await svc.explain("warsaw", 3)
    assert [f["utc"] for f in fires] == ["2025-03-28T01:30:00+00:00",
                                         "2025-03-29T01:30:00+00:00",
                                         "2025-03-30T01:00:00+00:00"]
    assert fires[2]["local"] == "2025-03-30T03:00:00+02:00"
    assert "does not exist" in fires[2]["note"] and fires[0]["note"] is None
    spec = ScheduleSpec(name="p", cron="*/30 * * * *", timezone="Europe/Warsaw", job_type="x")
    autumn = await service(pool, SimClock(datetime(2025, 10, 25, 23, 45, tzinfo=UTC))).explain(
        spec, 4)
    assert [f["local"][11:] for f in autumn] == ["02:00:00+02:00", "02:30:00+02:00",
                                                "02:00:00+01:00", "02:30:00+01:00"]
    assert all("twice" in f["note"] for f in autumn)
    with pytest.raises(ScheduleError) as exc:
        await svc.explain(spec.model_copy(update={"cron": "* * * * 9"}))
    assert exc.value.field == "cron" and "day-of-week" in str(exc.value)


async def test_config_sync_upserts_reports_and_pauses_what_is_gone(
    pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, "supervisor")  # every log line of the sync is built
    clock = SimClock(T0)
    svc = service(pool, clock)
    await add(svc, "adopted", "*/5 * * * *")
    tables: dict[str, Any] = {
        "session-inactive": {"cron": "*/8 * * * *", "job_type": "noop"},
        "adopted": {"cron": "*/5 * * * *", "job_type": "noop", "overlap": True},
        "bad-cron": {"cron": "*/8 * * *", "job_type": "noop"},
        "bad-zone": {"cron": "* * * * *", "timezone": "Nowhere", "job_type": "noop"},
        "not-a-table": 5,
    }
    report = await sync_config(svc, tables)
    assert report.created == ["session-inactive"] and report.updated == ["adopted"]
    assert set(report.invalid) == {"bad-cron", "bad-zone", "not-a-table"}
    assert "cron" in report.invalid["bad-cron"] and "Nowhere" in report.invalid["bad-zone"]
    assert (await svc.get("adopted"))["source"] == "config"
    before = await svc.get("session-inactive")
    clock.advance(hours=5)
    again = await sync_config(svc, {"session-inactive": tables["session-inactive"]})
    # Unchanged: next_run_at is kept, so the misfire policy sees the five hours missed.
    assert again.updated == [] and again.created == []
    assert (await svc.get("session-inactive"))["next_run_at"] == before["next_run_at"]
    assert again.deactivated == ["adopted"]
    assert (await svc.get("adopted"))["active"] is False
    assert any(getattr(r, "schedule", None) == "bad-zone" and r.levelname == "ERROR"
               for r in caplog.records)


async def _wait_for_run(pool: asyncpg.Pool, name: str) -> None:
    async def has_run() -> bool:
        return bool(await fired(pool, name))
    await eventually(has_run, what=f"a run of {name}")


@pytest.mark.parametrize("via", ["callback", "notify"])
async def test_a_new_schedule_takes_effect_without_waiting_a_tick(
    pool: asyncpg.Pool, db_dsn: str, via: str,
) -> None:
    # Real time shifted so the next whole minute is a second away; the tick interval is an hour.
    now = datetime.now(UTC)
    offset = now.replace(second=59, microsecond=0) + timedelta(minutes=1) - now
    clock = lambda: datetime.now(UTC) + offset  # noqa: E731
    hub = WakeHub()
    wake = hub.events["schedules"]
    sched = Scheduler(pool, registry(), poll_seconds=3600, clock=clock, wake=wake)
    svc = ScheduleService(pool, registry(), clock=clock,
                          on_change=wake.set if via == "callback" else None)
    stopping = asyncio.Event()
    async with anyio.create_task_group() as tg:
        if via == "notify":
            await tg.start(Listener(db_dsn, hub).run, stopping)
        await tg.start(sched.run, stopping)
        await anyio.sleep(0.1)  # let it settle into its hour-long sleep
        await svc.create(ScheduleSpec(name="soon", cron="* * * * *", job_type="noop"))
        await _wait_for_run(pool, "soon")
        stopping.set()
    lateness = await pool.fetchval("SELECT lateness_ms FROM jobs")
    assert lateness >= 0


async def test_the_scheduler_service_syncs_declared_schedules_when_it_starts(
    pool: asyncpg.Pool,
) -> None:
    clock = SimClock(T0)
    declared = {"hourly": {"cron": "0 * * * *", "job_type": "noop"}}
    sched = scheduler(pool, clock, declared=declared)
    stopping = asyncio.Event()
    async with anyio.create_task_group() as tg:
        await tg.start(sched.run, stopping)

        async def synced() -> bool:
            return bool(await pool.fetchval("SELECT count(*) FROM scheduled_jobs") == 1)
        await eventually(synced, what="the config schedule in the database")
        stopping.set()
    row = await service(pool, clock).get("hourly")
    assert (row["source"], row["next_run_at"]) == ("config", "2025-06-02T10:00:00+00:00")


async def test_a_database_error_inside_a_tick_surfaces_as_itself(pool: asyncpg.Pool) -> None:
    clock = SimClock(T0)
    await add(service(pool, clock), "x", "* * * * *")
    clock.advance(minutes=1)
    await pool.execute("ALTER TABLE jobs RENAME TO jobs_away")
    with pytest.raises(asyncpg.UndefinedTableError):
        await scheduler(pool, clock).tick_once()
