"""Job types: a name, a payload model, and an async handler; and the registry of them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from pydantic import BaseModel, ValidationError


class JobInputError(ValueError):
    """A job request the daemon refuses: unknown type or a payload that fails its model."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class JobContext:
    """What a running handler may use: its identity, shared clients, and progress."""

    uuid: UUID
    job_type: str
    attempt: int
    clients: dict[str, Any] = field(default_factory=dict)
    report: Callable[[dict[str, Any]], Awaitable[None]] | None = None

    async def progress(
        self, done: float, total: float | None = None, message: str = ""
    ) -> None:
        """Report progress of a long job (throttled by the worker)."""
        if self.report is not None:
            await self.report({"done": done, "total": total, "message": message})


class JobType(Protocol):
    """What every job type provides."""

    @property
    def name(self) -> str:
        """Unique name jobs refer to in `job_type`."""

    @property
    def payload_model(self) -> type[BaseModel]:
        """The pydantic model `job_data` must satisfy."""

    async def run(self, ctx: JobContext, payload: Any) -> dict[str, Any] | None:
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
