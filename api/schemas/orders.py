"""Order schemas per audience: staff (``OrderRead``), patient (``TrackingView``).

Staff views never include patient contact data; that is read through the audited
``/orders/{id}/contact`` endpoint. The patient view holds no products either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from api.schemas.common import Point
from dispatch.domain import GeoPoint, Sku
from dispatch.orders.order import (
    Order,
    OrderLine,
    OrderRequest,
    OrderStatus,
    PatientContact,
    Priority,
    ProofLevel,
)


class LineSchema(BaseModel):
    """``quantity`` units of ``sku``."""

    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=128)
    quantity: int = Field(gt=0, le=10_000, strict=True)


class PatientContactIn(BaseModel):
    """Patient contact data (encrypted at rest, never echoed back)."""

    model_config = ConfigDict(extra="forbid")

    name: SecretStr = Field(min_length=1, max_length=200)
    phone: SecretStr = Field(min_length=3, max_length=40)
    address: SecretStr = Field(min_length=1, max_length=500)


class OrderCreate(BaseModel):
    """A new order; send an ``Idempotency-Key`` header with it."""

    model_config = ConfigDict(extra="forbid")

    patient_ref: str = Field(
        min_length=1, max_length=128, description="Pseudonymous patient reference."
    )
    patient: PatientContactIn
    delivery_location: Point
    lines: list[LineSchema] = Field(min_length=1, max_length=50)
    window_start_at: datetime
    window_end_at: datetime
    priority: Priority = Priority.STANDARD
    proof_level: ProofLevel | None = Field(
        default=None, description="At least this proof; products may require more."
    )
    access_notes: SecretStr = Field(
        default=SecretStr(""),
        max_length=500,
        description="How to reach the door (gate code, floor, buzzer). Encrypted at "
        "rest; shown only to the rider delivering this order.",
    )

    def to_request(self, idempotency_key: str) -> OrderRequest:
        """The domain request (dispatch validates the rules)."""
        return OrderRequest(
            patient_ref=self.patient_ref,
            contact=PatientContact(
                self.patient.name.get_secret_value(),
                self.patient.phone.get_secret_value(),
                self.patient.address.get_secret_value(),
            ),
            delivery_location=GeoPoint(
                self.delivery_location.lat, self.delivery_location.lon
            ),
            lines=tuple(OrderLine(Sku(line.sku), line.quantity) for line in self.lines),
            window_start_at=self.window_start_at,
            window_end_at=self.window_end_at,
            idempotency_key=idempotency_key,
            priority=self.priority,
            proof_level=self.proof_level,
            access_notes=self.access_notes.get_secret_value(),
        )


class OrderRead(BaseModel):
    """An order as staff see it (no patient contact data)."""

    id: str
    patient_ref: str
    status: OrderStatus
    delivery_location: Point
    lines: list[LineSchema]
    window_start_at: datetime
    window_end_at: datetime
    priority: Priority
    proof_level: ProofLevel
    created_at: datetime
    pharmacy_id: str | None
    rider_id: str | None
    unassigned_reason: str | None
    replacement_of: str | None
    replaced_by: str | None = Field(
        description="The order that replaced this one after its goods were "
        "rejected; the patient's tracking link now follows it."
    )
    dispatched_by: Literal["planner", "greedy"] = Field(
        description="planner: re-planned continuously; greedy: assigned once "
        "(nearest idle rider) and never re-planned."
    )
    picked_up_at: datetime | None

    @classmethod
    def of(cls, o: Order) -> OrderRead:
        """From the domain object."""
        return cls(
            id=o.id,
            patient_ref=o.patient_ref,
            status=o.status,
            delivery_location=Point(
                lat=o.delivery_location.lat, lon=o.delivery_location.lon
            ),
            lines=[
                LineSchema(sku=line.sku, quantity=line.quantity) for line in o.lines
            ],
            window_start_at=o.window_start_at,
            window_end_at=o.window_end_at,
            priority=o.priority,
            proof_level=o.proof_level,
            created_at=o.created_at,
            pharmacy_id=o.pharmacy_id,
            rider_id=o.rider_id,
            unassigned_reason=o.unassigned_reason,
            replacement_of=o.replacement_of,
            replaced_by=o.replaced_by,
            dispatched_by="greedy" if o.dispatched_by == "greedy" else "planner",
            picked_up_at=o.picked_up_at,
        )


class OrderCreated(OrderRead):
    """The created order and the creator's status link token."""

    tracking_token: str = Field(
        description="A status link: /track/{token} and /ws/track/{token} show this "
        "order's progress and ETA; /track/{token}/messages (the delivery code) is "
        "403 with it. The patient's own link is texted to their phone."
    )


class OtpReissued(BaseModel):
    """A new delivery code went to the patient's channel (never in this body)."""

    expires_at: datetime


class CancelRequest(BaseModel):
    """Why the order is cancelled."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=200)


class ContactRead(BaseModel):
    """Patient contact data (the read is audited)."""

    name: str
    phone: str
    address: str


PatientStatus = Literal[
    "preparing",
    "assigned",
    "on_the_way",
    "delivered",
    "not_delivered",
    "cancelled",
    "delayed",
    "replaced",
]

PATIENT_STATUS: dict[OrderStatus, PatientStatus] = {
    OrderStatus.CREATED: "preparing",
    OrderStatus.SOURCED: "preparing",
    OrderStatus.ASSIGNED: "assigned",
    OrderStatus.PICKED_UP: "on_the_way",
    OrderStatus.DELIVERED: "delivered",
    OrderStatus.FAILED: "not_delivered",
    OrderStatus.CANCELLED: "cancelled",
    OrderStatus.ON_HOLD: "delayed",
}


class TrackingView(BaseModel):
    """What a patient's link shows: status, ETA and, while the rider is heading
    to them, the rider's position. Nothing else."""

    status: PatientStatus
    window_start_at: datetime
    window_end_at: datetime
    eta_at: datetime | None
    rider_position: Point | None


class PatientMessageRead(BaseModel):
    """A message for the patient (e.g. the delivery code)."""

    kind: str
    body: str
    expires_at: datetime | None
