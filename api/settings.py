"""Deployment settings of the HTTP API (pydantic-settings, built at entry points)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dispatch.dev_secrets import MIN_SECRET_LENGTH, is_weak
from dispatch.domain import require_timezone
from dispatch.errors import InvalidInput

#: Environments in which unset secrets are generated per data folder.
DEV_ENVIRONMENTS = frozenset({"dev", "test"})


class ApiSettings(BaseSettings):
    """How the API authenticates, limits, and pushes live data."""

    model_config = SettingsConfigDict(
        env_prefix="API_", extra="ignore", populate_by_name=True
    )

    environment: Literal["dev", "test", "production"] = Field(
        default="dev",
        description=(
            "dev/test generate unset secrets once per data folder; production "
            "refuses unset, short or placeholder secrets."
        ),
    )
    host: str = Field(default="127.0.0.1", description="Interface `serve` binds.")
    port: int = Field(default=8000, ge=0, le=65535, description="TCP port of `serve`.")
    jwt_secret: SecretStr | None = Field(
        default=None,
        description=(
            "HMAC key (HS256) signing user access tokens; >= 32 characters "
            "(unset: as DISPATCH_DATA_KEY)."
        ),
    )
    tracking_link_secret: SecretStr | None = Field(
        default=None,
        description=(
            "Key deriving patient tracking tokens from order ids (its own secret: a "
            "token is never derivable from public data; unset: as DISPATCH_DATA_KEY)."
        ),
    )
    access_token_ttl_s: int = Field(
        default=900, ge=30, le=86_400, description="Lifetime of a user access token."
    )
    refresh_token_ttl_s: int = Field(
        default=28_800,
        ge=60,
        le=2_592_000,
        description="Lifetime of one refresh token (each refresh rotates it and "
        "starts a new one); unused this long, the session ends.",
    )
    session_max_s: int = Field(
        default=57_600,
        ge=60,
        le=2_592_000,
        description="Longest a login session lasts through refreshes, from the "
        "login (a shift plus slack); then the user logs in again.",
    )
    ws_auth_warning_s: float = Field(
        default=60.0,
        ge=0,
        description="A websocket gets `auth.expiring` this long before its "
        "access token expires; unrenewed at expiry it is closed with 4001.",
    )
    idempotency_ttl_s: int = Field(
        default=86_400,
        ge=60,
        le=604_800,
        description="How long a rider's Idempotency-Key replays its first answer.",
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
    device_token_ttl_s: int = Field(
        default=16 * 3600,
        ge=300,
        le=30 * 86400,
        description="Lifetime of a rider device token from its issue, seconds "
        "(default: a 12-hour shift plus margin); the dispatcher issues a new one "
        "for the next shift.",
    )
    login_attempts_per_min: int = Field(
        default=10,
        ge=1,
        description="Failed logins allowed per minute from one address for one "
        "username (then 429 for that pair only; successes are not counted and "
        "clear it), so a guesser elsewhere cannot lock a user out.",
    )
    otp_reissues_per_hour: int = Field(
        default=3,
        ge=1,
        description="OTP re-issues (POST /orders/{id}/otp) allowed per order per "
        "hour: each sends the patient a message.",
    )
    otp_attempts_per_min: int = Field(
        default=10, ge=1, description="OTP submissions allowed per rider and per IP."
    )
    max_body_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        description="Largest request body read (bytes), checked before authentication; "
        "larger ones get 413.",
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
    cluster: bool = Field(
        default=False,
        description=(
            "Several `serve` instances share this database (behind a load balancer): "
            "the dispatch feed is numbered by PostgreSQL and events, live frames, "
            "positions and device-token revocations cross instances over "
            "LISTEN/NOTIFY; login/OTP limits are counted in PostgreSQL; one "
            "instance at a time (the advisory-lock leader) runs the re-planner."
        ),
    )
    leader_poll_s: float = Field(
        default=1.0,
        gt=0,
        le=30,
        description=(
            "Cluster: how often a follower tries to take the re-planner's lease "
            "and the leader checks it still holds it (seconds)."
        ),
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
    city: Literal["bundled", "none"] = Field(
        default="bundled",
        description="Map data: bundled = load the shipped OpenStreetMap city in the "
        "background at startup (cached under the data folder) for route polylines "
        "and the UI's bounds and service area; none = no map geometry (null).",
    )
    map_style_url: str | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^https?://",
        description="MapLibre style URL of a production basemap for the web UI "
        "(GET /ui/config). Unset: the bundled offline basemap (built from the OSM "
        "extract, served by the API itself); the UI's own layers draw over either.",
    )
    business_timezone: str = Field(
        default="Europe/Malta",
        max_length=64,
        description="IANA time zone in which the web UI shows times to people "
        "(GET /ui/config `clock.time_zone`), e.g. the patient's delivery window.",
    )

    @field_validator("business_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            return require_timezone(value, "API_BUSINESS_TIMEZONE")
        except InvalidInput as exc:  # pydantic reports ValueError as a setting error
            raise ValueError(str(exc)) from None

    patient_channel: Literal["fake", "webhook"] = Field(
        default="fake",
        description="Where a patient's own tracking link (the only one that reads "
        "their delivery code) is texted: webhook = POST {order_id, to, body} to "
        "API_PATIENT_SMS_WEBHOOK_URL (an SMS gateway), signed with "
        "TELEMETRY_WEBHOOK_SECRET; fake = kept in memory for tests and the demo "
        "(GET /dev/patient-sms/{order_id}, admin only). Production refuses fake.",
    )
    patient_sms_webhook_url: str | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^https?://",
        description="The SMS gateway webhook of patient_channel=webhook.",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        max_length=2000,
        pattern=r"^https?://",
        description="Public address of the web UI, for the links texted to patients.",
    )

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> ApiSettings:
        if self.patient_channel == "webhook" and not self.patient_sms_webhook_url:
            raise ValueError(
                "API_PATIENT_CHANNEL=webhook needs API_PATIENT_SMS_WEBHOOK_URL"
            )
        if self.environment in DEV_ENVIRONMENTS:
            return self

        for value, env_var in (
            (self.jwt_secret, "API_JWT_SECRET"),
            (self.tracking_link_secret, "API_TRACKING_LINK_SECRET"),
        ):
            if value is None or is_weak(value.get_secret_value()):
                raise ValueError(
                    f"{env_var} must be a random value of >= {MIN_SECRET_LENGTH} "
                    "characters outside dev/test"
                )
        pw = self.bootstrap_admin_password
        if pw is not None and len(pw.get_secret_value()) < 12:
            raise ValueError("API_BOOTSTRAP_ADMIN_PASSWORD must have >= 12 characters")
        if self.patient_channel == "fake":
            raise ValueError(
                "API_PATIENT_CHANNEL=fake keeps patients' links in memory and shows "
                "them to admins: production needs webhook (an SMS gateway)"
            )
        return self
