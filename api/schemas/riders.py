"""Rider schemas: registration and shifts (staff), and the rider's own route view.

``RiderStopRead`` is all a rider ever sees of an order: where to go, access notes
and the patient's first name. Never products, quantities or diagnoses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import LEGS_DESCRIPTION, LegRead, Point
from dispatch.domain import Rider, RiderStatus, VehicleType
from dispatch.orders.order import ProofLevel

_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


class RiderCreate(BaseModel):
    """A rider to register."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=200)
    vehicle_type: VehicleType
    cold_box_slots: int = Field(default=0, ge=0, le=20, strict=True)
    skills: list[str] = Field(default_factory=list, max_length=20)


class RiderRead(BaseModel):
    """A rider as dispatchers see them."""

    id: str
    name: str
    vehicle_type: VehicleType
    cold_box_slots: int
    skills: list[str]
    status: RiderStatus
    shift_start_at: datetime | None
    shift_end_at: datetime | None
    position: Point | None
    position_at: datetime | None

    @classmethod
    def of(cls, r: Rider) -> RiderRead:
        """From the domain object."""
        pos = Point(lat=r.position.lat, lon=r.position.lon) if r.position else None
        return cls(
            id=r.id,
            name=r.name,
            vehicle_type=r.vehicle_type,
            cold_box_slots=r.cold_box_slots,
            skills=sorted(r.skills),
            status=r.status,
            shift_start_at=r.shift_start_at,
            shift_end_at=r.shift_end_at,
            position=pos,
            position_at=r.position_at,
        )


class ColdBoxCreate(BaseModel):
    """A cold box, optionally handed to a rider."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=_ID)
    profile_code: str = Field(min_length=1, max_length=64)
    rider_id: str | None = Field(default=None, pattern=_ID)


class ShiftStart(BaseModel):
    """Start a shift now, ending at ``ends_at``."""

    model_config = ConfigDict(extra="forbid")

    ends_at: datetime
    position: Point | None = None


class PositionUpdate(BaseModel):
    """A rider's position (REST fallback of ``/ws/rider``)."""

    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False, strict=True)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False, strict=True)
    at: datetime | None = None
    accuracy_m: float | None = Field(default=None, ge=0, allow_inf_nan=False)


class StatusUpdate(BaseModel):
    """A rider's availability."""

    model_config = ConfigDict(extra="forbid")

    status: Literal[RiderStatus.AVAILABLE, RiderStatus.ON_BREAK, RiderStatus.OFFLINE]


class AckRead(BaseModel):
    """The command was applied."""

    ok: Literal[True] = True


class RiderStopRead(BaseModel):
    """One stop of the rider's own route (no products, no quantities)."""

    stop_id: str
    kind: Literal["pickup", "delivery"]
    order_id: str
    location: Point
    place_name: str | None = Field(description="Pharmacy name (pickups only).")
    first_name: str | None = Field(description="Patient's first name (deliveries).")
    access_notes: str | None
    window_start_at: datetime
    window_end_at: datetime
    eta_at: datetime | None
    proof_level: ProofLevel | None = Field(
        default=None,
        description="What the hand-off needs (deliveries): the code, or the code,"
        " an ID-check attestation and the recipient's signature.",
    )
    otp_attempts_left: int | None = Field(
        default=None,
        description="Codes the rider may still try (deliveries whose code was"
        " sent); 0: locked, the dispatcher was told.",
    )


class RiderRouteRead(BaseModel):
    """The rider's remaining stops in visiting order."""

    rider_id: str
    stops: list[RiderStopRead]
    legs: list[LegRead] | None = Field(default=None, description=LEGS_DESCRIPTION)
