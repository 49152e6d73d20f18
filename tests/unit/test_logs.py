"""configure_logging(): JSON and plain formats, extras, exceptions, idempotence."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Iterator

import pytest

from supervisor.logs import configure_logging, format_time, service_name

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Opaque:
    def __str__(self) -> str:
        return "opaque!"


@pytest.fixture(autouse=True)
def _restore_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Leave the root logger as the test found it."""
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def _json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_format_time_and_service_name() -> None:
    assert format_time(0.123) == "1970-01-01T00:00:00.123Z"
    assert service_name("supervisor.lanes.runner") == "runner"
    assert service_name("root") == "root"


def test_plain_line_with_extras() -> None:
    out = io.StringIO()
    configure_logging("INFO", json_lines=False, stream=out)
    logging.getLogger("supervisor.lanes.runner").info(
        "claimed jobs", extra={"action": "claim", "count": 5}
    )
    line = out.getvalue()
    assert re.fullmatch(TIME + r" INFO  runner  claimed jobs action=claim count=5\n", line)


def test_plain_quotes_values_with_spaces_and_puts_action_job_first() -> None:
    out = io.StringIO()
    configure_logging("INFO", json_lines=False, stream=out)
    job = uuid.UUID(int=7)
    logging.getLogger("supervisor.retry").warning(
        "giving up", extra={"reason": "too many tries", "job": job, "action": "fail"}
    )
    assert out.getvalue().split(" WARNING retry  ", 1)[1] == (
        f'giving up action=fail job={job} reason="too many tries"\n'
    )


def test_json_keys_order_and_values() -> None:
    out = io.StringIO()
    configure_logging("DEBUG", json_lines=True, stream=out)
    job = uuid.uuid4()
    log = logging.getLogger("supervisor.schedule.scheduler")
    log.debug("queued", extra={"count": 2, "job": job, "action": "enqueue", "thing": _Opaque()})
    log.info("plain %s", "args")
    first, second = _json_lines(out)
    assert list(first) == ["time", "level", "service", "action", "job", "msg", "count", "thing"]
    assert re.fullmatch(TIME, str(first["time"]))
    assert first["level"] == "DEBUG"
    assert first["service"] == "scheduler"
    assert first["job"] == str(job)
    assert first["thing"] == "opaque!"
    assert first["count"] == 2
    assert list(second) == ["time", "level", "service", "msg"]
    assert second["msg"] == "plain args"


def test_extras_cannot_overwrite_base_keys() -> None:
    out = io.StringIO()
    configure_logging(json_lines=True, stream=out)
    logging.getLogger("supervisor.api").info("hi", extra={"time": "later", "level": 3})
    (doc,) = _json_lines(out)
    assert doc["time"] != "later"
    assert doc["level"] == "INFO"
    assert doc["time_"] == "later"
    assert doc["level_"] == 3


def _raise_and_log(name: str) -> None:
    try:
        raise ValueError("bad value")
    except ValueError:
        logging.getLogger(name).exception("job crashed", extra={"action": "run"})


def test_json_exception() -> None:
    out = io.StringIO()
    configure_logging(json_lines=True, stream=out)
    _raise_and_log("supervisor.lanes.runner")
    (doc,) = _json_lines(out)
    assert doc["level"] == "ERROR"
    assert doc["action"] == "run"
    assert str(doc["exc"]).startswith("Traceback (most recent call last):")
    assert str(doc["exc"]).endswith("ValueError: bad value")


def test_plain_exception() -> None:
    out = io.StringIO()
    configure_logging(json_lines=False, stream=out)
    _raise_and_log("supervisor.lanes.runner")
    first, *rest = out.getvalue().splitlines()
    assert re.fullmatch(TIME + r" ERROR runner  job crashed action=run", first)
    assert rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "ValueError: bad value"


def test_idempotent_and_last_call_wins() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging(json_lines=True, stream=first)
    configure_logging("WARNING", json_lines=False, stream=second)
    root = logging.getLogger()
    assert sum(type(h).__name__ == "_SupervisorHandler" for h in root.handlers) == 1
    log = logging.getLogger("supervisor.heartbeat")
    log.info("dropped by level")
    log.warning("kept")
    assert first.getvalue() == ""
    assert second.getvalue().count("\n") == 1
    assert " WARNING heartbeat  kept" in second.getvalue()


@pytest.mark.parametrize(
    ("stream", "env", "want_json"),
    [
        (io.StringIO(), None, True),
        (_Tty(), None, False),
        (_Tty(), "json", True),
        (io.StringIO(), "plain", False),
        (io.StringIO(), "JSON", True),
        (_Tty(), "bogus", False),
    ],
)
def test_format_choice(
    monkeypatch: pytest.MonkeyPatch, stream: io.StringIO, env: str | None, want_json: bool
) -> None:
    if env is not None:
        monkeypatch.setenv("LOG_FORMAT", env)
    configure_logging(stream=stream)
    logging.getLogger("supervisor.rescue").info("hello")
    last = stream.getvalue().splitlines()[-1]
    assert last.startswith("{") is want_json


def test_explicit_argument_beats_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_FORMAT", "json")
    out = io.StringIO()
    configure_logging(json_lines=False, stream=out)
    logging.getLogger("supervisor.api").info("hello")
    assert not out.getvalue().startswith("{")


def test_default_stream_is_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json_lines=True)
    logging.getLogger("supervisor.first_time").info("to stderr", extra={"action": "x"})
    captured = capsys.readouterr()
    assert captured.out == ""
    (doc,) = [json.loads(line) for line in captured.err.splitlines()]
    assert doc["service"] == "first_time"
    assert doc["msg"] == "to stderr"


def test_an_extra_named_like_a_record_attribute_does_not_crash_the_caller() -> None:
    stream = io.StringIO()
    configure_logging("INFO", json_lines=True, stream=stream)
    logging.getLogger("supervisor.test_clash").info(
        "synced", extra={"created": 3, "name": "x", "action": "sync"})
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert (line["created_"], line["name_"], line["action"]) == (3, "x", "sync")


def test_uvicorn_lines_are_attributed_to_the_api() -> None:
    assert service_name("uvicorn.error") == "api"


def test_uvicorns_coloured_copy_of_each_message_is_dropped() -> None:
    stream = io.StringIO()
    configure_logging("INFO", json_lines=True, stream=stream)
    logging.getLogger("uvicorn.error").info("Started %d", 5, extra={"color_message": "\x1b[36m"})
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line == {"time": line["time"], "level": "INFO", "service": "api", "msg": "Started 5"}
