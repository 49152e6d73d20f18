"""The Python API for applications: enqueue jobs in your own transaction, look at them, wait.

This is the one module applications import; everything else in `supervisor` may change.
Every function takes the application's own connection: an asyncpg Connection or Pool, a
psycopg 3 AsyncConnection (or Connection for the `*_sync` functions), or a SQLAlchemy 2
AsyncSession/AsyncConnection (Session/Connection). Inside a transaction the job is written
with the caller's rows and the runners wake when it commits (NOTIFY is transactional).
See docs/client.md.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import anyio

from supervisor.client.drivers import AsyncDriver, SyncDriver, async_driver, sync_driver
from supervisor.client.enqueue import checked_run_after, insert_args, new_job
from supervisor.client.listen import listening
from supervisor.jobtypes import JobInputError
from supervisor.store.jobs import NewJob
from supervisor.store.sql import Queries, q
from supervisor.submit import Submitted

SQL = Queries("supervisor.client", "sql")
ENDED = frozenset({"completed", "dead", "cancelled"})
WAKE_CHANNELS = ("supervisor_done", "supervisor_cancel")
RECHECK_SECONDS = 5.0  # a notification can be missed (a rescue, a lost connection): look again


Enqueued = Submitted  # (uuid, duplicate): a unique duplicate answers the existing job's uuid


async def enqueue(
    conn: Any, job_type: str, data: dict[str, Any] | None = None, *,
    retry_count: int | None = None, retry_interval: int | None = None,
    run_after: datetime | None = None, priority: int | None = None,
    unique_key: str | None = None, unique_states: list[str] | None = None,
    timeout: float | None = None, validate: bool = True,
) -> Enqueued:
    """Write one job on `conn`, inside its transaction if one is open; checked first.

    Options left out take the job type's defaults. `validate=False` skips the payload check
    for job types not installed here (the daemon checks it when it claims the job).
    JobInputError names the field; nothing is written then.
    """
    drv = async_driver(conn)
    options = dict(retry_count=retry_count, retry_interval=retry_interval, run_after=run_after,
                   priority=priority, unique_key=unique_key, unique_states=unique_states,
                   timeout=timeout)
    job, when = _prepared(job_type, data, options, validate)
    if job.unique_key is None:
        rows = await drv.rows(SQL.q("client_insert"), *insert_args(job, when))
        return Enqueued(rows[0]["uuid"])
    async with drv.atomic() as tx:
        await tx.rows(q("lock_unique_key"), job.unique_key)
        rows = await tx.rows(SQL.q("client_insert_unique"), *insert_args(job, when),
                             job.unique_key, list(job.unique_states))
    return Enqueued(rows[0]["uuid"], bool(rows[0]["duplicate"]))


def enqueue_sync(
    conn: Any, job_type: str, data: dict[str, Any] | None = None, *,
    retry_count: int | None = None, retry_interval: int | None = None,
    run_after: datetime | None = None, priority: int | None = None,
    unique_key: str | None = None, unique_states: list[str] | None = None,
    timeout: float | None = None, validate: bool = True,
) -> Enqueued:
    """`enqueue` for a blocking connection (psycopg Connection, SQLAlchemy Session)."""
    drv = sync_driver(conn)
    options = dict(retry_count=retry_count, retry_interval=retry_interval, run_after=run_after,
                   priority=priority, unique_key=unique_key, unique_states=unique_states,
                   timeout=timeout)
    job, when = _prepared(job_type, data, options, validate)
    if job.unique_key is None:
        rows = drv.rows(SQL.q("client_insert"), *insert_args(job, when))
        return Enqueued(rows[0]["uuid"])
    with drv.atomic() as tx:
        tx.rows(q("lock_unique_key"), job.unique_key)
        rows = tx.rows(SQL.q("client_insert_unique"), *insert_args(job, when),
                       job.unique_key, list(job.unique_states))
    return Enqueued(rows[0]["uuid"], bool(rows[0]["duplicate"]))


OPTIONS = ("retry_count", "retry_interval", "priority", "unique_key", "unique_states", "timeout")


def _prepared(job_type: str, data: Any, given: dict[str, Any],
              validate: bool) -> tuple[NewJob, datetime | None]:
    options = {name: given[name] for name in OPTIONS}
    return (new_job(job_type, data if data is not None else {}, options, validate),
            checked_run_after(given["run_after"]))


async def enqueue_many(
    conn: Any, job_type: str, datas: Sequence[dict[str, Any]], *,
    retry_count: int | None = None, retry_interval: int | None = None,
    run_after: datetime | None = None, priority: int | None = None,
    timeout: float | None = None, validate: bool = True,
) -> list[UUID]:
    """Write many jobs of one type and options in one statement; their uuids, in order."""
    drv = async_driver(conn)
    options = dict(retry_count=retry_count, retry_interval=retry_interval, run_after=run_after,
                   priority=priority, timeout=timeout)
    jobs, when = _many(job_type, datas, options, validate)
    if jobs:
        await drv.rows(SQL.q("client_insert_many"), *_many_args(jobs, when))
    return [j.uuid for j in jobs]


def enqueue_many_sync(
    conn: Any, job_type: str, datas: Sequence[dict[str, Any]], *,
    retry_count: int | None = None, retry_interval: int | None = None,
    run_after: datetime | None = None, priority: int | None = None,
    timeout: float | None = None, validate: bool = True,
) -> list[UUID]:
    """`enqueue_many` for a blocking connection."""
    drv = sync_driver(conn)
    options = dict(retry_count=retry_count, retry_interval=retry_interval, run_after=run_after,
                   priority=priority, timeout=timeout)
    jobs, when = _many(job_type, datas, options, validate)
    if jobs:
        drv.rows(SQL.q("client_insert_many"), *_many_args(jobs, when))
    return [j.uuid for j in jobs]


def _many(job_type: str, datas: Sequence[dict[str, Any]], given: dict[str, Any],
          validate: bool) -> tuple[list[NewJob], datetime | None]:
    given = {**given, "unique_key": None, "unique_states": None}  # many: never keyed
    jobs = []
    for i, data in enumerate(datas):
        try:
            jobs.append(_prepared(job_type, data, given, validate)[0])
        except JobInputError as exc:
            raise JobInputError(f"datas[{i}]: {exc}", field=f"datas[{i}].{exc.field}") from None
    return jobs, checked_run_after(given["run_after"])


def _many_args(jobs: list[NewJob], when: datetime | None) -> list[Any]:
    first = jobs[0]
    return [[j.uuid for j in jobs], [json.dumps(j.data) for j in jobs], first.job_type,
            first.retry_count, first.retry_interval, first.priority, first.timeout_seconds, when]


def _uuid(value: UUID | str) -> UUID:
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        raise JobInputError(f"{value!r} is not a job uuid", field="uuid") from None


def _job(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not rows:
        return None
    job: dict[str, Any] = json.loads(rows[0]["job"])
    return job


async def get(conn: Any, uuid: UUID | str) -> dict[str, Any] | None:
    """The job as a dict of its columns (times as ISO text), or None."""
    drv = async_driver(conn)
    return _job(await drv.rows(SQL.q("client_get"), _uuid(uuid)))


def get_sync(conn: Any, uuid: UUID | str) -> dict[str, Any] | None:
    """`get` for a blocking connection."""
    drv = sync_driver(conn)
    return _job(drv.rows(SQL.q("client_get"), _uuid(uuid)))


async def _change(drv: AsyncDriver, query: str, uuid: UUID) -> dict[str, Any] | None:
    if not await drv.rows(q(query), uuid):
        return None
    return _job(await drv.rows(SQL.q("client_get"), uuid))


async def cancel(conn: Any, uuid: UUID | str) -> dict[str, Any] | None:
    """Cancel a job that has not ended (a running one is interrupted); None if none matched."""
    return await _change(async_driver(conn), "cancel_job", _uuid(uuid))


async def retry(conn: Any, uuid: UUID | str) -> dict[str, Any] | None:
    """Run a failed, dead or cancelled job again now; None if none matched."""
    return await _change(async_driver(conn), "retry_job_now", _uuid(uuid))


def _sync_change(drv: SyncDriver, query: str, uuid: UUID) -> dict[str, Any] | None:
    if not drv.rows(q(query), uuid):
        return None
    return _job(drv.rows(SQL.q("client_get"), uuid))


def cancel_sync(conn: Any, uuid: UUID | str) -> dict[str, Any] | None:
    """`cancel` for a blocking connection."""
    return _sync_change(sync_driver(conn), "cancel_job", _uuid(uuid))


def retry_sync(conn: Any, uuid: UUID | str) -> dict[str, Any] | None:
    """`retry` for a blocking connection."""
    return _sync_change(sync_driver(conn), "retry_job_now", _uuid(uuid))


async def wait(conn: Any, uuid: UUID | str, *, timeout: float = 60.0) -> dict[str, Any]:
    """The job once it has ended (completed, dead or cancelled); TimeoutError after `timeout`.

    Woken by the notifications the daemon sends as jobs end, not by polling. The connection
    must not be inside a transaction (LISTEN takes effect only at commit).
    """
    drv, job_id = async_driver(conn), _uuid(uuid)
    with anyio.fail_after(timeout):
        async with listening(drv, WAKE_CHANNELS) as woken:
            while True:
                woken.clear()
                job = _job(await drv.rows(SQL.q("client_get"), job_id))
                if job is None:
                    raise LookupError(f"no job {job_id}")
                if job["status"] in ENDED:
                    return job
                await woken.wait(RECHECK_SECONDS)


__all__ = ["ENDED", "Enqueued", "JobInputError", "cancel", "cancel_sync", "enqueue",
           "enqueue_many", "enqueue_many_sync", "enqueue_sync", "get", "get_sync", "retry",
           "retry_sync", "wait"]
