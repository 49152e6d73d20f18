"""Start-up failures are found inside exception groups and turned into one line and a status."""

from __future__ import annotations

import math

from supervisor.cli.common import EX_UNAVAILABLE, expected
from supervisor.config import EX_CONFIG, ConfigError
from supervisor.jsonvalues import unstorable
from supervisor.runtime.supervise import EX_SOFTWARE, ServiceFailed, StartupFailure
from supervisor.store.db import DatabaseUnavailable


def _nested(exc: Exception) -> BaseExceptionGroup[Exception]:
    return ExceptionGroup("outer", [ExceptionGroup("inner", [RuntimeError("noise"), exc])])


def test_each_expected_failure_is_found_with_its_status() -> None:
    crashed = ServiceFailed("service 'rescue' crashed 2 times")
    crashed.__cause__ = KeyError("x")
    cases = [(StartupFailure("cannot listen", 71), ("cannot listen", 71)),
             (DatabaseUnavailable("no db"), ("no db", EX_UNAVAILABLE)),
             (ConfigError("API_PORT bad"), ("API_PORT bad", EX_CONFIG)),
             (crashed, ("service 'rescue' crashed 2 times: KeyError: 'x'", EX_SOFTWARE))]
    for exc, want in cases:
        assert expected(_nested(exc)) == want
        assert expected(exc) == want


def test_a_bug_is_not_expected() -> None:
    assert expected(_nested(ValueError("a bug"))) is None


def test_unstorable_values_are_named_by_path() -> None:
    assert unstorable({"a": [1, {"b": math.nan}]}, "data") == (
        "data.a[1].b", "must be a finite number (got nan); JSON has no NaN or Infinity")
    assert unstorable({"k\x00": 1}, "data") == ("data", "keys must not contain NUL characters "
                                                "(\\u0000)")
    assert unstorable({"s": "x\x00"}, "data")[0] == "data.s"  # type: ignore[index]
    assert unstorable({"fine": [1, 2.5, "ok", None, True]}, "data") is None
