"""Deployment settings of cold-chain telemetry (pydantic-settings)."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TelemetrySettings(BaseSettings):
    """Where the MQTT broker is and how ingestion batches."""

    model_config = SettingsConfigDict(
        env_prefix="TELEMETRY_", extra="ignore", populate_by_name=True
    )

    mqtt_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MQTT_URL", "mqtt_url"),
        description=(
            "MQTT broker URL (mqtt://user:pass@host:port). Unset: an embedded "
            "amqtt broker runs in-process."
        ),
    )
