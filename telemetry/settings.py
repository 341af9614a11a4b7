"""Deployment settings of cold-chain telemetry (pydantic-settings)."""

from __future__ import annotations

import re
import socket
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
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
            "MQTT broker URL (mqtt://user:pass@host:port, mqtts:// for TLS). Unset: "
            "an embedded amqtt broker runs in-process."
        ),
    )
    transport: Literal["mqtt", "amqp"] = Field(
        default="mqtt",
        description=(
            "How ingest receives telemetry: mqtt (one worker subscribed to Mosquitto "
            "or the embedded broker) or amqp (devices publish MQTT to RabbitMQ's "
            "plugin; `rxdispatch ingest --workers N` consumers share its quorum "
            "queue; deploy/rabbitmq)."
        ),
    )
    amqp_url: str | None = Field(
        default=None,
        description=(
            "RabbitMQ AMQP URL of the ingest workers when transport=amqp "
            "(amqp://user:pass@host:5672/%2F, amqps:// for TLS); several nodes of a "
            "cluster comma-separated, tried in order on every reconnect."
        ),
    )
    amqp_ca_file: str | None = Field(
        default=None, description="CA certificate file for amqps:// (TLS)."
    )
    amqp_prefetch: int = Field(
        default=4000,
        ge=1,
        description=(
            "Unacked deliveries per AMQP worker (bounded prefetch); keep it a few "
            "batches deep so the next batch arrives while one commits."
        ),
    )
    amqp_delivery_limit: int = Field(
        default=100,
        ge=1,
        description=(
            "Deliveries of one message before the quorum queue moves it to "
            "rxdispatch.telemetry.dead (a crash-looping poison message; never dropped)."
        ),
    )
    topic_prefix: str = Field(
        default="rxdispatch/v1",
        description="Topic prefix; boxes publish to <prefix>/boxes/<box_id>/telemetry.",
    )
    client_id: str | None = Field(
        default=None,
        description=(
            "Fixed MQTT client id of this worker (its persistent session). Unset: "
            "rxdispatch-ingest-<host name>, distinct per host and stable across "
            "restarts; set one per worker when several run on one host (two "
            "workers with one id knock each other off: logged and counted as "
            "ingest_mqtt_takeovers_total)."
        ),
    )
    share_group: str | None = Field(
        default=None,
        description=(
            "Shared-subscription group ($share/<group>/...) so several workers split "
            "the load. Unset: a plain subscription (one worker), the default because "
            "with mosquitto 2.0.11 a shared group loses messages in flight to a killed "
            "member and those published before the workers re-subscribe after a broker "
            "restart (measured; docs/telemetry-wire-contract.md). Ignored on the "
            "embedded amqtt broker, which has no shared subscriptions."
        ),
    )
    mqtt_ca_file: str | None = Field(
        default=None, description="CA certificate file for mqtts:// (TLS) brokers."
    )
    batch_max_messages: int = Field(
        default=1000,
        ge=1,
        description=(
            "Flush a batch at this many messages; keep it well below the broker's "
            "max_inflight_messages (4000 in deploy/mosquitto) so the next batches "
            "arrive while one commits."
        ),
    )
    batch_window_ms: int = Field(
        default=20,
        ge=1,
        description=(
            "Flush a batch this long after its first message (bounds the "
            "publish->alert latency; full batches flush at once)."
        ),
    )
    silence_check_s: float = Field(
        default=5.0, gt=0, description="How often to look for boxes that went silent."
    )
    seq_grace_s: float = Field(
        default=30.0,
        ge=0,
        description=(
            "Sequence audit: how long a gap in a box's seq may wait for late "
            "(out-of-order) readings before the logger is asked to resend it."
        ),
    )
    seq_resend_retry_s: float = Field(
        default=120.0,
        ge=0,
        description="Sequence audit: seconds between resend requests of one gap.",
    )
    seq_resend_max_requests: int = Field(
        default=5,
        ge=0,
        description=(
            "Sequence audit: resend requests per gap before the server stops "
            "asking (the gap stays open and alerted)."
        ),
    )
    seq_gap_alert_after_s: float = Field(
        default=600.0,
        ge=0,
        description=(
            "Sequence audit: a box with a gap open this long gets one seq_gap "
            "alert on the dispatcher's feed (resolved when its gaps close)."
        ),
    )
    seq_check_s: float = Field(
        default=5.0,
        gt=0,
        description="Sequence audit: how often resend requests and alerts are due.",
    )
    webhook_urls: list[str] = Field(
        default_factory=list,
        description="URLs that receive HMAC-signed excursion notifications (JSON).",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description=(
            "HMAC-SHA256 key of the X-Rxdispatch-Signature webhook header "
            "(unset: as DISPATCH_DATA_KEY)."
        ),
    )

    def effective_client_id(self) -> str:
        """``client_id``, else ``rxdispatch-ingest-<host name>`` (letters, digits
        and ``-`` only, at most 64 characters)."""
        if self.client_id:
            return self.client_id
        host = re.sub(r"[^A-Za-z0-9-]+", "-", socket.gethostname()).strip("-")
        return f"rxdispatch-ingest-{host or 'host'}"[:64]
