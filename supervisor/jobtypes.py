"""Job types: a name, a payload model, defaults and an async handler; the context; the registry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, NoReturn, Protocol, TypeVar
from uuid import UUID

import anyio
from pydantic import BaseModel, ValidationError

from supervisor.errors import JobStopped, SupervisorError

R = TypeVar("R")
T = TypeVar("T")


class JobInputError(SupervisorError, ValueError):
    """A job request the daemon refuses: unknown type or a payload that fails its model."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class JobDefaults:
    """Per-type defaults; None means the runtime's (or the job's own) value."""

    retry_count: int | None = None
    retry_interval: int | None = None
    backoff: str | None = None          # "fixed" or "exponential"
    timeout: float | None = None        # seconds a run may take before it is interrupted
    priority: int | None = None         # 0 (first) to 9
    concurrency: int | None = None      # most running at once in one process
    global_concurrency: int | None = None  # most running at once across every process


NO_DEFAULTS = JobDefaults()
Report = Callable[[dict[str, Any]], Awaitable[None]]


class JobContext(Generic[R]):
    """What a running handler may use: identity, its family's resources, progress, checkpoints."""

    def __init__(
        self, uuid: UUID, job_type: str, attempt: int, resources: R, *, db: Any = None,
        checkpoint_state: dict[str, Any] | None = None, report: Report | None = None,
        saver: Report | None = None,
    ) -> None:
        self.uuid = uuid
        self.job_type = job_type
        self.attempt = attempt
        self.resources = resources
        self.db = db  # the job-work pool: a job can never exhaust the control plane's
        self.checkpoint_state = checkpoint_state
        self.stop_reason: str | None = None  # "shutdown", "cancel" or "timeout" once asked
        self._report = report
        self._saver = saver

    async def progress(
        self, done: float, total: float | None = None, message: str = ""
    ) -> None:
        """Report progress of a long job (throttled and best-effort)."""
        if self._report is not None:
            await self._report({"done": done, "total": total, "message": message})

    async def checkpoint(self, state: dict[str, Any]) -> None:
        """Store `state` durably with the job; the next attempt finds it in checkpoint_state."""
        self.checkpoint_state = state
        if self._saver is not None:
            await self._saver(state)

    def should_stop(self) -> bool:
        """True once the run must end (shutdown, cancel or timeout): save and stop()."""
        return self.stop_reason is not None

    def stop(self) -> NoReturn:
        """End this run now, as the stop reason says (handed back, cancelled, timed out)."""
        raise JobStopped(self.stop_reason or "shutdown")

    async def to_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking or CPU-heavy `fn(*args)` in a worker thread, off the event loop."""
        return await anyio.to_thread.run_sync(fn, *args)


class JobType(Protocol):
    """What every job type provides (and optionally `defaults: JobDefaults`)."""

    @property
    def name(self) -> str:
        """Unique name jobs refer to in `job_type`."""

    @property
    def payload_model(self) -> type[BaseModel]:
        """The pydantic model `job_data` must satisfy."""

    async def run(self, ctx: JobContext[Any], payload: Any) -> dict[str, Any] | None:
        """Do the work; the returned dict is merged into job_response."""


def describe_validation(exc: ValidationError, prefix: str = "job_data") -> tuple[str, str]:
    """The first problem of a pydantic error as (field path, sentence naming it)."""
    err = exc.errors()[0]
    path = ".".join(str(p) for p in (prefix, *err["loc"]))
    got = "" if err["type"] == "missing" else f" (got {err.get('input')!r})"
    more = len(exc.errors()) - 1
    tail = f"; and {more} more problem(s)" if more else ""
    return path, f"{path}: {err['msg']}{got}{tail}"


class Registry:
    """Job types by name."""

    def __init__(self, types: Iterable[JobType] = ()) -> None:
        self._types: dict[str, JobType] = {}
        for jt in types:
            self.register(jt)

    def register(self, jt: JobType) -> None:
        """Add a job type; names are unique."""
        if jt.name in self._types:
            raise ValueError(f"job type {jt.name!r} is registered twice")
        self._types[jt.name] = jt

    def names(self) -> list[str]:
        """Known job type names, sorted."""
        return sorted(self._types)

    def get(self, name: str) -> JobType:
        """The job type called `name`, or JobInputError listing the known ones."""
        try:
            return self._types[name]
        except KeyError:
            raise JobInputError(
                f"unknown job type {name!r}; known types: {', '.join(self.names())}",
                field="job_type",
            ) from None

    def defaults(self, name: str) -> JobDefaults:
        """The per-type defaults of `name` (all None when it declares none)."""
        found: JobDefaults = getattr(self.get(name), "defaults", NO_DEFAULTS)
        return found

    def parse(self, name: str, data: Any) -> BaseModel:
        """The payload of a job validated against its type's model."""
        jt = self.get(name)
        if not isinstance(data, dict):
            raise JobInputError("job_data must be a JSON object", field="job_data")
        try:
            return jt.payload_model.model_validate(data)
        except ValidationError as exc:
            path, message = describe_validation(exc)
            raise JobInputError(message, field=path) from exc

    def validate(self, name: str, data: Any) -> dict[str, Any]:
        """Validated payload as stored: the client's data, checked (defaults not baked in)."""
        self.parse(name, data)
        result: dict[str, Any] = data
        return result
