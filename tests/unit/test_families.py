"""Family discovery, clashes, and typed settings sections."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings

from services import diagnostic
from supervisor.config import ConfigError, load_config
from supervisor.families import Families, Family, FamilyError, discover
from supervisor.settings import load_section


class CsvSettings(BaseSettings):
    """A family's settings as a family would declare them."""

    batch_size_for_insertion: int = Field(500, ge=1, le=100_000, description="rows per batch")
    s3_upload_file_path_prifix: str = Field(
        "exports", validation_alias=AliasChoices("S3_UPLOAD_FILE_PATH_PRIFIX",
                                                 "S3_UPLOAD_FILE_PATH_PREFIX"))
    production: bool = False


def test_installed_families_come_from_entry_points() -> None:
    found = discover(env={})
    assert "diagnostic" in found.loaded
    assert {"noop", "sleep"} <= set(found.registry.names())
    assert found.of_type("sleep") is found.get("diagnostic")


def test_a_users_module_with_job_types_becomes_a_family() -> None:
    found = discover(env={"SUPERVISOR_JOB_MODULES": "tests.e2e.jobtypes"})
    assert found.of_type("record") is found.get("tests_e2e_jobtypes")


def test_a_module_that_cannot_be_imported_is_named() -> None:
    with pytest.raises(FamilyError, match=r"cannot import 'no\.such\.module'"):
        discover(env={"SUPERVISOR_JOB_MODULES": "no.such.module"})


def test_two_families_declaring_one_job_type_refuse_naming_both() -> None:
    twin = Family("twin", job_types=diagnostic.JOB_TYPES[:1])
    with pytest.raises(FamilyError, match="'noop' is declared by both family 'diagnostic' and "
                                          "family 'twin'"):
        Families([diagnostic.family, twin])


def test_family_names_are_unique_and_plain() -> None:
    with pytest.raises(FamilyError, match="two families are named 'diagnostic'"):
        Families([diagnostic.family, Family("diagnostic")])
    with pytest.raises(FamilyError, match="lower case"):
        Families([Family("Bad-Name")])


def test_section_defaults_then_file_then_env_with_sources() -> None:
    table = {"batch_size_for_insertion": 200}
    env = {"S3_UPLOAD_FILE_PATH_PREFIX": "out", "PRODUCTION": "yes"}
    values, sources = load_section(CsvSettings, "contacts", table, env, "config.toml")
    assert values.batch_size_for_insertion == 200 and sources["batch_size_for_insertion"] == (
        "config.toml")
    assert values.s3_upload_file_path_prifix == "out" and sources[
        "s3_upload_file_path_prifix"] == "env"
    assert values.production is True
    env["BATCH_SIZE_FOR_INSERTION"] = "300"
    values, sources = load_section(CsvSettings, "contacts", table, env, "config.toml")
    assert values.batch_size_for_insertion == 300 and sources["batch_size_for_insertion"] == "env"


def test_a_bad_value_names_section_setting_source_and_env_var() -> None:
    with pytest.raises(ConfigError) as info:
        load_section(CsvSettings, "contacts", {}, {"BATCH_SIZE_FOR_INSERTION": "0"}, "c.toml")
    message = str(info.value)
    assert message.startswith("contacts.batch_size_for_insertion='0' (from env, env "
                              "BATCH_SIZE_FOR_INSERTION) is invalid: ")
    assert "greater than or equal to 1" in message and "rows per batch" in message


def test_unknown_keys_and_sections_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[contacts\] has unknown setting\(s\) batch_size;"):
        load_section(CsvSettings, "contacts", {"batch_size": 1}, {}, "c.toml")
    path = tmp_path / "config.toml"
    path.write_text("[nosuchfamily]\nx = 1\n")
    config = load_config(env={}, path=path)
    with pytest.raises(ConfigError, match=r"\[nosuchfamily\] belong to no installed family"):
        discover(env={}).configure(config, env={})


def test_a_family_section_is_read_from_config_toml(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("parallel_jobs = 2\n[csv]\nbatch_size_for_insertion = 50\n")
    found = Families([Family("csv", settings=CsvSettings)])
    found.configure(load_config(env={}, path=path), env={})
    loaded = found.get("csv")
    assert loaded.settings.batch_size_for_insertion == 50
    assert loaded.sources["batch_size_for_insertion"] == str(path)


@pytest.mark.parametrize("first", ["services.contacts", "services.cdp",
                                   "services.cdp.segments.family", "supervisor.cli",
                                   # the families' command modules import supervisor.cli.common
                                   "services.contacts.export_cli", "services.contacts.cli",
                                   "services.cdp.cli", "services.cdp.segments.cli"])
def test_importing_a_family_first_still_gives_the_cli_every_familys_commands(first: str) -> None:
    import json
    import subprocess
    import sys

    code = (f"import {first}\nfrom supervisor.cli import app\n"
            "import json; print(json.dumps(sorted(g.name for g in app.registered_groups)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert "warning" not in done.stderr, done.stderr
    assert {"data", "cdp", "segment"} <= set(json.loads(done.stdout))
