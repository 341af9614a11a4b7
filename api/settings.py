"""Deployment settings of the HTTP API (pydantic-settings, built at entry points)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Environments in which the shipped placeholder secrets are tolerated.
DEV_ENVIRONMENTS = frozenset({"dev", "test"})
_PLACEHOLDER_MARKERS = ("dev-only", "change-me", "changeme", "secret")
MIN_SECRET_LENGTH = 32


class ApiSettings(BaseSettings):
    """How the API authenticates, limits, and pushes live data."""

    model_config = SettingsConfigDict(
        env_prefix="API_", extra="ignore", populate_by_name=True
    )

    environment: Literal["dev", "test", "production"] = Field(
        default="dev",
        description="dev/test accept placeholder secrets; production refuses them.",
    )
    host: str = Field(default="127.0.0.1", description="Interface `serve` binds.")
    port: int = Field(default=8000, ge=0, le=65535, description="TCP port of `serve`.")
    jwt_secret: SecretStr = Field(
        default=SecretStr("dev-only-jwt-secret-change-me-00000000000000000"),
        description="HMAC key (HS256) signing user access tokens; >= 32 characters.",
    )
    access_token_ttl_s: int = Field(
        default=900, ge=30, le=86_400, description="Lifetime of a user access token."
    )
    tracking_link_ttl_s: int = Field(
        default=172_800,
        ge=60,
        description="Longest lifetime of a patient tracking link, from its creation.",
    )
    tracking_grace_after_delivery_s: int = Field(
        default=900,
        ge=0,
        description="How long a tracking link keeps working after delivery/cancel.",
    )
    device_token_cache_s: float = Field(
        default=30,
        ge=0,
        le=300,
        description="How long a rider device-token check is cached (0: off); "
        "a revocation reaches other API processes within this.",
    )
    login_attempts_per_min: int = Field(
        default=10, ge=1, description="Login attempts allowed per username and per IP."
    )
    otp_attempts_per_min: int = Field(
        default=10, ge=1, description="OTP submissions allowed per rider and per IP."
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS (empty: none)."
    )
    bootstrap_admin_username: str | None = Field(
        default=None, description="If set with a password, ensures this admin exists."
    )
    bootstrap_admin_password: SecretStr | None = Field(
        default=None, description="Password of the bootstrap admin (>= 12 characters)."
    )
    run_migrations: bool = Field(
        default=True, description="Apply pending migrations when the app starts."
    )
    run_replanner: bool = Field(
        default=True,
        description="Run continuous re-planning (solver worker process) in serve.",
    )
    run_ingest: bool = Field(
        default=True,
        description="Run the MQTT telemetry ingest worker in serve (when available).",
    )
    ws_queue_size: int = Field(
        default=256,
        ge=8,
        description="Non-position events buffered per websocket client before 1013.",
    )
    ws_send_timeout_s: float = Field(
        default=5.0, gt=0, description="A send blocked this long closes the client."
    )
    ws_position_batch_s: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Positions are gathered this long into one frame per client.",
    )
    ws_ping_interval_s: float = Field(
        default=10.0,
        gt=0,
        description="Protocol pings (serve); a client that stops reading misses the "
        "pong and is dropped, even while kernel buffers still absorb its data.",
    )
    ws_ping_timeout_s: float = Field(
        default=10.0, gt=0, description="How long a ping may wait for its pong."
    )
    ws_heartbeat_s: float = Field(
        default=15.0, gt=0, description="Interval of server heartbeat envelopes."
    )
    geofence_radius_m: float = Field(
        default=60.0, gt=0, description="Radius of the circle fence around a stop."
    )
    geofence_exit_margin_m: float = Field(
        default=40.0, ge=0, description="Extra distance before a departure counts."
    )
    geofence_dwell_s: float = Field(
        default=20.0, ge=0, description="Time inside a fence before arrival fires."
    )
    position_store_interval_s: float = Field(
        default=15.0, ge=0, description="Store a rider's live fix at least this often."
    )
    position_store_move_m: float = Field(
        default=50.0, ge=0, description="...or when they moved this far since."
    )
    eta_material_change_s: int = Field(
        default=60, ge=0, description="ETA change that triggers a push to clients."
    )
    map_style_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="MapLibre style URL of a production basemap for the web UI. "
        "Unset: the bundled offline basemap (built from the OSM extract, served by "
        "the API itself); the UI's own layers draw over either.",
    )

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> ApiSettings:
        if self.environment in DEV_ENVIRONMENTS:
            return self
        secret = self.jwt_secret.get_secret_value()
        lowered = secret.lower()
        if len(secret) < MIN_SECRET_LENGTH or any(
            marker in lowered for marker in _PLACEHOLDER_MARKERS
        ):
            raise ValueError(
                "API_JWT_SECRET must be a random value of >= 32 characters "
                "outside dev/test"
            )
        pw = self.bootstrap_admin_password
        if pw is not None and len(pw.get_secret_value()) < 12:
            raise ValueError("API_BOOTSTRAP_ADMIN_PASSWORD must have >= 12 characters")
        return self
