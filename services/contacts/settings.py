"""Settings of the contacts family: its [contacts] section of config.toml and env vars."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ContactsSettings(BaseSettings):
    """Object storage, batch size and search indexes of the CSV import and export."""

    model_config = SettingsConfigDict(extra="forbid", populate_by_name=True)

    s3_bucket: str | None = Field(
        None, description="default S3 bucket of imports and exports; unset: the directory "
        "store under DATA_DIR/objects")
    s3_endpoint_url: str | None = Field(
        None, description="S3-compatible endpoint (MinIO, moto); unset: AWS")
    s3_region: str | None = Field(None, description="S3 region; unset: the AWS config chain")
    s3_upload_file_path_prifix: str = Field(
        "uploads", min_length=1, max_length=200,
        validation_alias=AliasChoices("S3_UPLOAD_FILE_PATH_PRIFIX",
                                      "S3_UPLOAD_FILE_PATH_PREFIX"),
        description="key prefix of uploads and exports (the seed's spelling PRIFIX; PREFIX is "
        "accepted too)")
    batch_size_for_insertion: int = Field(
        500, ge=1, le=100_000, description="CSV rows per import transaction")
    parse_in_child_from_mb: int = Field(
        0, ge=0, le=1_000_000, description="parse objects of at least this many MB in a child "
        "process (no GIL shared with the database writes); 0: always in a thread")
    object_store: Literal["auto", "s3", "directory"] = Field(
        "auto", description="auto: S3 when S3_BUCKET is set, else the directory store")
    elastic_company_index: str = Field("companies_index", min_length=1, max_length=255,
                                       description="Elasticsearch index of companies")
    elastic_contact_index: str = Field("contacts_index", min_length=1, max_length=255,
                                       description="Elasticsearch index of contacts")

    @property
    def store_kind(self) -> str:
        """'s3' or 'directory', as object_store and S3_BUCKET decide."""
        if self.object_store == "auto":
            return "s3" if self.s3_bucket else "directory"
        return self.object_store

    @property
    def upload_prefix(self) -> str:
        """The key prefix without a trailing '/'."""
        return self.s3_upload_file_path_prifix.strip("/")
