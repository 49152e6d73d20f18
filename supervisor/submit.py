"""Creating a job: one request model and one path for the API, the CLI and Python callers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID, uuid4

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from supervisor.jobtypes import Registry
from supervisor.jsonvalues import INT32_MAX, unstorable
from supervisor.states import NOT_ENDED, Status
from supervisor.store.jobs import JobStore, NewJob

TEXT_MAX = 200
TIMEOUT_MAX = 31_622_400  # 366 days, the jobs table's bound
DEFAULT_PRIORITY = 5
DEFAULT_RETRY_INTERVAL = 30
DEFAULT_UNIQUE_STATES: tuple[str, ...] = NOT_ENDED


def _unstorable(where: str, why: str) -> PydanticCustomError:
    return PydanticCustomError("unstorable", "{where}: {why}", {"where": where, "why": why})


def storable_json(value: Any, where: str = "job_data") -> Any:
    """`value` unchanged, or an error naming the first part PostgreSQL's jsonb cannot hold."""
    found = unstorable(value, where)
    if found is not None:
        raise _unstorable(*found)
    return value


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain NUL characters (\\u0000)")
    return text


JobData = Annotated[dict[str, Any], AfterValidator(storable_json)]
Key = Annotated[str, Field(min_length=1, max_length=TEXT_MAX), AfterValidator(_no_nul)]


class JobRequest(BaseModel):
    """A job to create; a field left out takes the job type's default, then the one shown."""

    model_config = ConfigDict(extra="forbid")
    job_type: str = Field(min_length=1, max_length=TEXT_MAX,
                          description="A registered job type, e.g. noop")
    job_data: JobData = Field(description="The job's payload, checked against its type")
    retry_count: StrictInt = Field(0, ge=0, le=INT32_MAX, description="Retries allowed")
    retry_interval: StrictInt = Field(DEFAULT_RETRY_INTERVAL, ge=0, le=INT32_MAX,
                                      description="Seconds to wait before each retry")
    priority: StrictInt = Field(DEFAULT_PRIORITY, ge=0, le=9,
                                description="0 runs first, 9 last")
    unique_key: Key | None = Field(
        None, description="At most one job with this key in `unique_states`; a duplicate "
        "create answers the existing job's uuid")
    unique_states: list[Status] | None = Field(
        None, min_length=1, max_length=len(Status),
        description="States the key is unique across (default: every state but completed, "
        "dead and cancelled)")
    timeout: float | None = Field(None, gt=0, le=TIMEOUT_MAX, allow_inf_nan=False,
                                  description="Seconds a run may take before it is stopped "
                                  "(default: the job type's)")


@dataclass(frozen=True, slots=True)
class Submitted:
    """What a create did: the job's uuid, and whether an existing job answered instead."""

    uuid: UUID
    duplicate: bool = False


def type_default(registry: Registry, job_type: str, name: str) -> Any:
    """A job type's `defaults.<name>` (see docs/families.md), or None when it has none."""
    defaults = getattr(registry.get(job_type), "defaults", None)
    return getattr(defaults, name, None)


def prepare(registry: Registry, req: JobRequest) -> NewJob:
    """Check the payload against its type and fill the defaults (JobInputError if it fails)."""
    data = registry.validate(req.job_type, req.job_data)

    def value(name: str) -> Any:
        # Given in the request > the type's `defaults` > this model's default.
        if name not in req.model_fields_set:
            default = type_default(registry, req.job_type, name)
            if default is not None:
                return default
        return getattr(req, name)

    return NewJob(
        uuid=uuid4(), job_type=req.job_type, data=data, retry_count=value("retry_count"),
        retry_interval=value("retry_interval"), priority=value("priority"),
        # Left empty unless given, so a job type's timeout applies as it is when the job runs.
        timeout_seconds=req.timeout, unique_key=req.unique_key,
        unique_states=tuple(str(s) for s in value("unique_states") or DEFAULT_UNIQUE_STATES),
    )


async def submit(store: JobStore, registry: Registry, req: JobRequest) -> Submitted:
    """Create the job a request describes (or find its duplicate); JobInputError if refused."""
    job = prepare(registry, req)
    if job.unique_key is not None:
        uuid, duplicate = await store.create_unique(job)
        return Submitted(uuid, duplicate)
    await store.create_rows([job])
    return Submitted(job.uuid)


async def create_job(store: JobStore, registry: Registry, job_type: str,
                     job_data: dict[str, Any] | None = None, **fields: Any) -> Submitted:
    """Python callers' create: the same checks as the API (ValidationError, JobInputError)."""
    req = JobRequest.model_validate({"job_type": job_type, "job_data": job_data or {}, **fields})
    return await submit(store, registry, req)


def first_problem(exc: ValidationError) -> tuple[str, str]:
    """(field, sentence) for the first problem of a request, e.g. ('retry_count', '...')."""
    err = exc.errors()[0]
    return error_field(err), error_text(err)


def error_field(err: ErrorDetails) -> str:
    """The dotted path of a request problem (deep inside job_data for an unstorable value)."""
    ctx = err.get("ctx") or {}
    if err["type"] == "unstorable":
        return str(ctx["where"])
    return ".".join(str(p) for p in err["loc"]) or "body"


def error_text(err: ErrorDetails) -> str:
    """One sentence naming the field, what is wrong and what was given."""
    if err["type"] == "unstorable":
        return str(err["msg"])
    field = error_field(err)
    if err["type"] == "missing":
        return f"{field}: is required"
    got = repr(err.get("input"))
    got = got if len(got) <= 60 else got[:57] + "..."
    return f"{field}: {err['msg'].lower()} (got {got})"
