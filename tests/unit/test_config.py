"""Settings: precedence, validation messages, and what `config show` prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from supervisor.config import ConfigError, describe, load_config

NO_FILE = Path("/nonexistent/config.toml")


def test_defaults_match_the_documents() -> None:
    c = load_config(env={}, path=NO_FILE)
    assert (c.parallel_jobs, c.ticker_interval_minutes, c.job_in_queue_size) == (4, 5.0, 100)
    assert (c.job_scheduler_poll_ms, c.job_scheduler_batch) == (60000, 25)
    assert c.runner_poll_seconds == 300.0
    assert c.sources["parallel_jobs"] == "default"


def test_env_overrides_file_overrides_default(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("parallel_jobs = 8\njob_in_queue_size = 50\n")
    c = load_config(env={"PARALLEL_JOBS": "16"}, path=path)
    assert (c.parallel_jobs, c.sources["parallel_jobs"]) == (16, "env")
    assert (c.job_in_queue_size, c.sources["job_in_queue_size"]) == (50, str(path))
    assert c.sources["ticker_interval_minutes"] == "default"


def test_worker_poll_ms_overrides_the_ticker() -> None:
    c = load_config(env={"JOB_WORKER_POLL_MS": "250"}, path=NO_FILE)
    assert c.runner_poll_seconds == 0.25


@pytest.mark.parametrize(("env", "needle"), [
    ({"PARALLEL_JOBS": "zero"}, "PARALLEL_JOBS='zero' (from env) is invalid: PARALLEL_JOBS must "
                                "be an integer >= 1"),
    ({"PARALLEL_JOBS": "0"}, "an integer >= 1"),
    ({"LOGGING_LEVEL": "LOUD"}, "one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ({"RETRY_BACKOFF": "random"}, "one of fixed, exponential"),
    ({"TICKER_INTERVAL_MINUTES": "-1"}, "a number >= 0.001"),
])
def test_bad_values_name_the_setting_and_what_is_allowed(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(env=env, path=NO_FILE)
    assert needle in str(err.value)


def test_bad_file_value_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('parallel_jobs = "many"\n')
    with pytest.raises(ConfigError, match=f"from {path}"):
        load_config(env={}, path=path)


def test_unknown_key_and_bad_toml_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("paralel_jobs = 4\n")
    with pytest.raises(ConfigError, match=r"unknown setting.*paralel_jobs"):
        load_config(env={}, path=path)
    path.write_text("parallel_jobs = = 4\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(env={}, path=path)


def test_missing_explicit_config_file_is_an_error() -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(env={"SUPERVISOR_CONFIG": "/nonexistent/x.toml"})


def test_shipped_config_toml_is_valid_and_commented() -> None:
    path = Path(__file__).resolve().parents[2] / "config.toml"
    c = load_config(env={}, path=path)
    assert all(source == "default" for source in c.sources.values())
    text = path.read_text()
    for name, _, _ in describe(c):
        assert f"# {name}:" in text, f"{name} is not documented in config.toml"


def test_show_masks_secrets() -> None:
    c = load_config(env={"DATABASE_URL": "postgresql://app:s3cret@db/jobs",
                         "REDIS_PASSWORD": "hunter2"}, path=NO_FILE)
    shown = {name: value for name, value, _ in describe(c)}
    assert shown["DATABASE_URL"] == "postgresql://app:****@db/jobs"
    assert shown["REDIS_PASSWORD"] == "********"


@pytest.mark.parametrize(("raw", "value"), [("yes", True), ("0", False), (True, True)])
def test_boolean_settings_accept_the_usual_spellings(raw: object, value: bool) -> None:
    from supervisor.config import Setting, _coerce

    flag = Setting("EPHEMERAL", bool, False, "a flag")
    assert _coerce(flag, raw, "env") is value
    with pytest.raises(ConfigError, match=r"EPHEMERAL='maybe' .* must be true or false"):
        _coerce(flag, "maybe", "env")
