"""The insert_csv_file job type: its payload (checked at creation) and its defaults."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.contacts.importer import CsvImport
from services.contacts.resources import ContactsResources
from services.shared.objects import validate_bucket, validate_key
from supervisor.jobtypes import JobContext, JobDefaults


class ImportPayload(BaseModel):
    """`{"s3_key": ..., "s3_bucket": optional}`: the CSV (or .csv.gz) object to import."""

    model_config = ConfigDict(extra="forbid")
    s3_key: str = Field(description="object key of the CSV, e.g. uploads/contacts.csv")
    s3_bucket: str | None = Field(None, description="bucket; default: S3_BUCKET")

    @field_validator("s3_key")
    @classmethod
    def _key(cls, value: str) -> str:
        return validate_key(value)

    @field_validator("s3_bucket")
    @classmethod
    def _bucket(cls, value: str | None) -> str | None:
        return None if value is None else validate_bucket(value)


class InsertCsvFile:
    """Import contacts and their companies from a CSV object (see services/contacts)."""

    name = "insert_csv_file"
    payload_model = ImportPayload
    defaults = JobDefaults(retry_count=3, retry_interval=30, timeout=6 * 3600)

    async def run(self, ctx: JobContext[ContactsResources],
                  payload: ImportPayload) -> dict[str, Any]:
        """Stream the object into PostgreSQL (and Elasticsearch), resuming at the checkpoint."""
        return await CsvImport(ctx, payload.s3_key, payload.s3_bucket).run()
