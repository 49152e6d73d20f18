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
                                "be an integer from 1 to 1000"),
    ({"PARALLEL_JOBS": "0"}, "an integer from 1 to 1000"),
    ({"PARALLEL_JOBS": "99999999999999999999"}, "an integer from 1 to 1000"),
    ({"PARALLEL_JOBS": "2.5"}, "an integer from 1 to 1000"),
    ({"LOGGING_LEVEL": "LOUD"}, "one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ({"RETRY_BACKOFF": "random"}, "one of fixed, exponential"),
    ({"TICKER_INTERVAL_MINUTES": "-1"}, "a number from 0.001 to 1440"),
    ({"NODE_STALE_SECONDS": "nan"}, "NODE_STALE_SECONDS must be a number from 0.5 to 86400"),
    ({"NODE_STALE_SECONDS": "inf"}, "NODE_STALE_SECONDS must be a number from 0.5 to 86400"),
    ({"API_PORT": "70000"}, "API_PORT='70000' (from env) is invalid: API_PORT must be an integer "
                            "from 0 to 65535"),
    ({"PRODUCTION": "maybe"}, "PRODUCTION must be true or false"),
    ({"NODE_STALE_SECONDS": "1", "NODE_HEARTBEAT_SECONDS": "5"},
     "at least twice NODE_HEARTBEAT_SECONDS"),
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


@pytest.mark.parametrize(("raw", "value"), [("yes", True), ("0", False), ("on", True)])
def test_boolean_settings_accept_the_usual_spellings(raw: str, value: bool) -> None:
    assert load_config(env={"PRODUCTION": raw}, path=NO_FILE).production is value


def test_settings_are_typed_and_frozen() -> None:
    import pydantic

    c = load_config(env={}, path=NO_FILE)
    with pytest.raises(pydantic.ValidationError):
        c.parallel_jobs = 3  # type: ignore[misc]
    assert c.with_overrides(parallel_jobs=3).sources["parallel_jobs"] == "override"
    with pytest.raises(ConfigError, match=r"PARALLEL_JOBS=0 .*from override"):
        c.with_overrides(parallel_jobs=0)


def test_config_check_refuses_a_schedule_that_start_would_skip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from supervisor.cli import app

    path = tmp_path / "config.toml"
    path.write_text('[schedules.hourly]\ncron = "61 * * * *"\njob_type = "noop"\n')
    monkeypatch.setenv("SUPERVISOR_CONFIG", str(path))
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 78
    assert "[schedules.hourly] cron '61 * * * *': minute field '61' is invalid" in result.output
    path.write_text('[schedules.hourly]\ncron = "1 * * * *"\njob_type = "noop"\n')
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 0 and "1 schedules" in result.output
