"""DATA_DIR is resolved the same way whatever directory a command runs from."""

from __future__ import annotations

from pathlib import Path

import pytest

from supervisor.config import load_config
from supervisor.store.embedded import data_dir


def test_a_relative_data_dir_from_the_config_file_is_taken_from_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "etc" / "config.toml"
    conf.parent.mkdir()
    conf.write_text('data_dir = "state"\n')
    monkeypatch.chdir(tmp_path)
    where, how = data_dir(load_config(env={}, path=conf))
    assert where == conf.parent / "state"
    assert str(conf) in how


def test_the_default_follows_the_config_file_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "config.toml"
    conf.write_text("")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert data_dir(load_config(env={}, path=conf))[0] == tmp_path / "data"


def test_a_relative_data_dir_from_the_environment_is_taken_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(env={"DATA_DIR": "mine"}, path=tmp_path / "none.toml")
    where, how = data_dir(config)
    assert where == tmp_path / "mine"
    assert "working directory" in how


def test_an_absolute_data_dir_is_kept(tmp_path: Path) -> None:
    config = load_config(env={"DATA_DIR": str(tmp_path / "abs")}, path=tmp_path / "none.toml")
    assert data_dir(config)[0] == tmp_path / "abs"
