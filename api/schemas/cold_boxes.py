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
