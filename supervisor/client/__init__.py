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
from typing import Any
from uuid import UUID

import anyio

from supervisor.client.drivers import AsyncDriver, SyncDriver, async_driver, sync_driver
from supervisor.client.listen import listening
from supervisor.jobtypes import JobInputError
from supervisor.store.sql import Queries, q

SQL = Queries("supervisor.client", "sql")
ENDED = frozenset({"completed", "dead", "cancelled"})
WAKE_CHANNELS = ("supervisor_done", "supervisor_cancel")
RECHECK_SECONDS = 5.0  # a notification can be missed (a rescue, a lost connection): look again


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


__all__ = ["ENDED", "JobInputError", "cancel", "cancel_sync", "get", "get_sync", "retry",
           "retry_sync", "wait"]
