"""Request and response shapes of the HTTP API (they also make the OpenAPI document)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StrictInt

from supervisor.jsonvalues import INT32_MAX
from supervisor.states import Status
from supervisor.submit import TEXT_MAX, JobRequest

__all__ = ["INT32_MAX", "CreateJob"]


def _storable(text: str) -> str:
    # PostgreSQL text cannot hold NUL; refusing it here names the field instead of failing later.
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


Text = Annotated[str, Field(max_length=TEXT_MAX), AfterValidator(_storable)]


def _in_utc(value: datetime) -> datetime:
    # PostgreSQL stores UTC: 0001-01-01T00:00+14:00 is before year 1 there.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the years 1 to 9999 in UTC") from None


class CreateJob(JobRequest):
    """Create one job (the request model every face shares, supervisor.submit.JobRequest)."""


class BulkChange(BaseModel):
    """Which jobs a bulk cancel or retry applies to; at least one filter is required."""

    model_config = ConfigDict(extra="forbid")
    status: list[Status] | None = Field(None, min_length=1, max_length=len(Status),
                                        description="Only jobs in these states")
    job_type: Text | None = Field(None, description="Only jobs of this type")
    created_before: Annotated[AwareDatetime, AfterValidator(_in_utc)] | None = Field(
        None, description="Only jobs created before this time (ISO 8601 with a time zone)")


class BulkDone(BaseModel):
    """What a bulk change did."""

    success: bool = True
    count: int = Field(description="How many jobs changed")
    message: str


class ListJobs(BaseModel):
    """Filters and paging for the job list; every field is optional."""

    model_config = ConfigDict(extra="forbid")
    job_type: Text | None = Field(None, description="Only jobs of this type")
    status: list[Status] | None = Field(None, max_length=len(Status),
                                        description="Only jobs in these states")
    limit: StrictInt | None = Field(25, ge=1, le=100, description="Page size, 1 to 100")
    cursor: Text | None = Field(None, description="next_cursor of the previous page")


class Job(BaseModel):
    """A job as stored (further columns may appear)."""

    model_config = ConfigDict(extra="allow")
    id: int
    uuid: str
    job_type: str
    data: dict[str, Any]
    status: Status
    job_response: dict[str, Any]
    retry_count: int
    retry_interval: int
    run_after: str | None
    created_at: str
    updated_at: str


class Created(BaseModel):
    """The create response: the document's body plus the new job's uuid."""

    message: str = "Job created successfully"
    success: bool = True
    uuid: str
    duplicate: bool = Field(False, description="True when a job with the same unique_key "
                            "answered instead (HTTP 200, nothing created)")


class JobList(BaseModel):
    """A page of jobs, newest first."""

    data: list[Job]
    success: bool = True
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page")


class OneJob(BaseModel):
    """One job."""

    data: Job
    success: bool = True
    message: str | None = None


class Error(BaseModel):
    """Every refusal: a message starting with an ERR_ code; our own errors also name the field."""

    error: str
    success: bool = False
    field: str | None = None
