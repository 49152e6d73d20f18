"""Running insert_csv_file in a test: resources on a real object store, a context, snapshots."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg

from services.contacts.job import ImportPayload, InsertCsvFile
from services.contacts.resources import ContactsResources, open_resources
from services.contacts.settings import ContactsSettings
from supervisor.families import FamilyEnv
from supervisor.jobtypes import JobContext
from tests.conftest import make_config

COMPANY_SNAPSHOT = "SELECT * FROM companies ORDER BY uuid"
CONTACT_SNAPSHOT = "SELECT * FROM contacts ORDER BY uuid"
VOLATILE = ("id", "created_at", "updated_at")


@asynccontextmanager
async def resources(pool: asyncpg.Pool, data_dir: Path, *, endpoint: str | None = None,
                    bucket: str | None = None, **settings: Any) -> AsyncIterator[ContactsResources]:
    """The family's resources: the directory store, or S3 at `endpoint`."""
    values: dict[str, Any] = {"s3_bucket": bucket, **settings}
    if endpoint is not None:
        values |= {"s3_endpoint_url": endpoint, "s3_region": "us-east-1", "object_store": "s3"}
    env = FamilyEnv(ContactsSettings.model_validate(values), make_config("postgresql://x/y"),
                    pool, data_dir)
    async with open_resources(env) as res:
        yield res


class Crash(Exception):
    """Raised by a test's checkpoint saver to stand for a crash after the Nth checkpoint."""


def context(res: ContactsResources, pool: asyncpg.Pool, *, job: uuid.UUID | None = None,
            state: dict[str, Any] | None = None, crash_after: int | None = None,
            saved: list[dict[str, Any]] | None = None) -> JobContext[ContactsResources]:
    """A JobContext like the runtime's, its checkpoints kept in `saved`."""
    saves = saved if saved is not None else []

    async def saver(s: dict[str, Any]) -> None:
        saves.append(s)
        if crash_after is not None and len(saves) >= crash_after:
            raise Crash(f"crash after checkpoint {len(saves)}")

    return JobContext(job or uuid.uuid4(), "insert_csv_file", 1, res, db=pool,
                      checkpoint_state=state, saver=saver)


async def run_import(ctx: JobContext[ContactsResources], key: str,
                     bucket: str | None = None) -> dict[str, Any]:
    """Run the job type as the runtime would."""
    payload = ImportPayload.model_validate({"s3_key": key, "s3_bucket": bucket})
    return await InsertCsvFile().run(ctx, payload)


async def snapshot(pool: asyncpg.Pool) -> tuple[list[dict[str, Any]], ...]:
    """Every company, contact and facet row, without ids and timestamps."""
    out = []
    for sql in (COMPANY_SNAPSHOT, CONTACT_SNAPSHOT,
                "SELECT service, filter_key, value FROM filters_data ORDER BY 1, 2, 3"):
        rows = await pool.fetch(sql)
        out.append([{k: v for k, v in dict(r).items() if k not in VOLATILE} for r in rows])
    return tuple(out)
