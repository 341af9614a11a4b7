"""Cold-box quarantine schemas: a person takes a box out of cold service or puts
it back (telemetry does the same on its own for temperature excursions)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from dispatch.domain import ColdBox


class ColdBoxRead(BaseModel):
    """A cold box and whether it may carry cold-chain goods."""

    id: str
    profile_code: str
    rider_id: str | None
    fit_for_cold: bool
    quarantined_at: datetime | None
    quarantine_reason: str | None = Field(
        description="Why it is out of cold service; never patient data."
    )
    quarantine_ref: str | None = Field(
        description="What set it: ``excursion:<id>`` (telemetry) or null (a person)."
    )

    @classmethod
    def of(cls, box: ColdBox) -> ColdBoxRead:
        """From the domain object."""
        return cls(
            id=box.id,
            profile_code=box.profile_code,
            rider_id=box.rider_id,
            fit_for_cold=box.fit_for_cold,
            quarantined_at=box.quarantined_at,
            quarantine_reason=box.quarantine_reason,
            quarantine_ref=box.quarantine_ref,
        )


class QuarantineCreate(BaseModel):
    """Why the box's temperature is in doubt (e.g. ``lid cracked``)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"\S",
        description="Short reason; never patient data.",
    )


class QuarantineClear(BaseModel):
    """The note on putting the box back into cold service."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=500)


class TemperatureBand(BaseModel):
    """The allowed temperature range of a box's (or an excursion's) profile."""

    profile_code: str
    low_c: float
    high_c: float


class ReadingPoint(BaseModel):
    """One stored reading, in device time."""

    at: datetime = Field(description="Device time of the sample (UTC).")
    seq: int
    temp_c: float
    battery_pct: float | None
    door_open: bool | None


class ReadingBucket(BaseModel):
    """Readings of one time slice, downsampled."""

    start: datetime = Field(
        description="Start of the slice; slices are aligned to 2000-01-01T00:00Z, "
        "so the first may start before ``from`` (it counts readings from ``from`` on)."
    )
    readings: int
    min_c: float
    avg_c: float
    max_c: float


class BoxReadings(BaseModel):
    """A box's readings over ``[from, to)``: raw, or min/avg/max per bucket."""

    box_id: str
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    bucket_s: int | None = Field(description="Slice length; null for raw readings.")
    band: TemperatureBand
    readings: list[ReadingPoint] = Field(
        description="Raw readings (empty if bucketed)."
    )
    buckets: list[ReadingBucket] = Field(description="Slices (empty if raw).")


class RiderBoxRead(BaseModel):
    """A cold box a rider carries, with its newest temperature (the live map)."""

    box_id: str
    rider_id: str
    fit_for_cold: bool
    temp_c: float | None = Field(description="Newest reading; null before any.")
    recorded_at: datetime | None = Field(description="Device time of that reading.")
    low_c: float | None = Field(description="Lowest allowed by the box's profile.")
    high_c: float | None = Field(description="Highest allowed by the box's profile.")
    in_range: bool | None = Field(
        description="Whether the newest reading is within the band; null when "
        "either is unknown."
    )
