"""The contacts family's settings, as the runtime loads them: env, config.toml, bounds."""

from __future__ import annotations

import pytest

from services.contacts.settings import ContactsSettings
from supervisor.config import ConfigError
from supervisor.settings import load_section


def _load(table: dict[str, object], env: dict[str, str]) -> ContactsSettings:
    settings, _ = load_section(ContactsSettings, "contacts", table, env, "config.toml")
    assert isinstance(settings, ContactsSettings)
    return settings


def test_both_spellings_of_the_upload_prefix_are_read() -> None:
    assert _load({}, {}).upload_prefix == "uploads"
    assert _load({}, {"S3_UPLOAD_FILE_PATH_PRIFIX": "exports/"}).upload_prefix == "exports"
    assert _load({}, {"S3_UPLOAD_FILE_PATH_PREFIX": "in"}).upload_prefix == "in"
    assert _load({"s3_upload_file_path_prifix": "t"}, {}).upload_prefix == "t"


def test_the_object_store_follows_s3_bucket_unless_chosen() -> None:
    assert _load({}, {}).store_kind == "directory"
    assert _load({}, {"S3_BUCKET": "b-1"}).store_kind == "s3"
    assert _load({"object_store": "directory"}, {"S3_BUCKET": "b-1"}).store_kind == "directory"
    assert _load({}, {"BATCH_SIZE_FOR_INSERTION": "1000"}).batch_size_for_insertion == 1000


@pytest.mark.parametrize("value", ["0", "-5", "100001", "lots"])
def test_a_bad_batch_size_is_refused_naming_it(value: str) -> None:
    with pytest.raises(ConfigError, match="batch_size_for_insertion"):
        _load({}, {"BATCH_SIZE_FOR_INSERTION": value})
