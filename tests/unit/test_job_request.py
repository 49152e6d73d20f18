"""One request model for every face: bounds on every stored integer, jsonb-storable data."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError
from typer.testing import CliRunner

from supervisor.cli import app
from supervisor.jobtypes import JobContext, JobDefaults, Registry
from supervisor.submit import JobRequest, first_problem, prepare


def _problem(**fields: object) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        JobRequest.model_validate({"job_type": "noop", "job_data": {}, **fields})
    return first_problem(caught.value)


@pytest.mark.parametrize(("data", "where"), [
    ({"a": "\x00"}, "job_data.a"),
    ({"a": float("nan")}, "job_data.a"),
    ({"a": float("inf")}, "job_data.a"),
    ({"a": [1, {"b": float("-inf")}]}, "job_data.a[1].b"),
    ({"ok": 1, "deep": {"k\x00": 1}}, "job_data.deep"),
])
def test_data_jsonb_cannot_hold_is_refused_where_it_is(data: dict[str, object], where: str) -> None:
    field, text = _problem(job_data=data)
    assert field == where and text.startswith(where)


def test_the_first_bad_value_in_document_order_is_named() -> None:
    field, _ = _problem(job_data={"a": 1, "b": "\x00", "c": float("nan")})
    assert field == "job_data.b"


@pytest.mark.parametrize(("name", "value"), [
    ("retry_count", 2**31), ("retry_count", -1), ("retry_interval", 2**31),
    ("priority", 10), ("priority", -1), ("timeout", 0), ("timeout", -3),
    ("timeout", float("inf")), ("unique_key", "k" * 201), ("unique_key", ""),
    ("unique_key", "a\x00b"), ("unique_states", []), ("unique_states", ["stuck"]),
])
def test_out_of_range_fields_are_named(name: str, value: object) -> None:
    field, text = _problem(**{name: value})
    assert field.split(".")[0] == name and text.startswith(name)


def test_the_largest_stored_values_are_accepted() -> None:
    req = JobRequest.model_validate({
        "job_type": "noop", "job_data": {"x": 1.5, "s": "ok"}, "retry_count": 2**31 - 1,
        "retry_interval": 2**31 - 1, "priority": 0, "unique_key": "k" * 200, "timeout": 0.001})
    assert req.retry_count == 2**31 - 1 and req.unique_key == "k" * 200


def _cli(*args: str) -> tuple[int, str]:
    env = {"SUPERVISOR_CONFIG": "/dev/null", "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"}
    result = CliRunner().invoke(app, ["job", "create", *args], env=env)
    return result.exit_code, result.output


@pytest.mark.parametrize(("args", "says"), [
    (("--data", '{"a": "\\u0000"}'), "--data: job_data.a: must not contain NUL"),
    (("--data", '{"a": NaN}'), "--data: job_data.a: must be a finite number"),
    (("--data", '{"a": 1e999}'), "--data: job_data.a: must be a finite number"),
    (("--retry-count", "9999999999999"), "--retry-count: input should be less than or equal "
                                          "to 2147483647"),
    (("--retry-interval", "2147483648"), "--retry-interval: input should be less than or "
                                         "equal to 2147483647"),
    (("--priority", "10"), "--priority: input should be less than or equal to 9"),
    (("--timeout", "0"), "--timeout: input should be greater than 0"),
    (("--unique-key", "k" * 201), "--unique-key: string should have at most 200 characters"),
])
def test_cli_refuses_with_one_line_and_no_traceback(args: tuple[str, ...], says: str) -> None:
    code, out = _cli("noop", *args)
    assert code == 2
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: " + says), out
    assert "Traceback" not in out


def test_cli_data_that_is_not_an_object_names_the_flag() -> None:
    code, out = _cli("noop", "--data", json.dumps([1, 2]))
    assert code == 2 and out.startswith("error: --data: ")



class _Anything(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Typed:
    """A job type with per-type defaults."""

    name = "typed"
    payload_model = _Anything
    defaults = JobDefaults(retry_count=3, retry_interval=7, priority=1, timeout=60)

    async def run(self, ctx: JobContext[None], payload: _Anything) -> None:
        """Never run here."""


def test_type_defaults_fill_what_the_request_leaves_out() -> None:
    registry = Registry([_Typed()])
    job = prepare(registry, JobRequest.model_validate({"job_type": "typed", "job_data": {}}))
    assert (job.retry_count, job.retry_interval, job.priority) == (3, 7, 1)
    # The timeout is left to the pool, which reads the type's default when the job runs.
    assert job.timeout_seconds is None
    given = JobRequest.model_validate({"job_type": "typed", "job_data": {}, "retry_count": 0,
                                       "priority": 5, "timeout": 2})
    job = prepare(registry, given)
    assert (job.retry_count, job.retry_interval, job.priority, job.timeout_seconds) == (
        0, 7, 5, 2)
