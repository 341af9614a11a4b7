"""Orders: what a patient asked for, and its validation (pure).

An :class:`OrderRequest` is what intake receives; :meth:`OrderRequest.validate`
applies every rule that needs no database (quantities, windows, ids). The catalogue
and service-area rules are applied by :mod:`dispatch.orders.intake`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NewType

from dispatch.domain import (
    GeoPoint,
    PharmacyId,
    RiderId,
    Sku,
    require_id,
    require_plain_text,
    require_utc,
)
from dispatch.errors import InvalidInput, InvalidQuantity, InvalidTimeWindow

__all__ = [
    "MAX_LINE_QUANTITY",
    "Order",
    "OrderId",
    "OrderLine",
    "OrderRequest",
    "OrderStatus",
    "PatientContact",
    "Priority",
    "ProofLevel",
]

OrderId = NewType("OrderId", str)
MAX_LINE_QUANTITY = 10_000
MAX_ACCESS_NOTES_CHARS = 500
#: How far ahead an order may be promised: dates beyond it are mistakes (year 9999
#: once overflowed the expiry arithmetic of sourcing into a 500).
MAX_BOOKING_AHEAD = timedelta(days=31)


class OrderStatus(StrEnum):
    """Lifecycle states (see :mod:`dispatch.orders.state_machine`)."""

    CREATED = "created"
    SOURCED = "sourced"
    ASSIGNED = "assigned"
    PICKED_UP = "picked_up"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ON_HOLD = "on_hold"


class Priority(StrEnum):
    """Urgent orders cost more to drop or deliver late."""

    URGENT = "urgent"
    STANDARD = "standard"


class ProofLevel(StrEnum):
    """What the hand-off needs, ordered from weakest to strongest."""

    OTP = "otp"
    OTP_ID_SIGNATURE = "otp_id_signature"

    @property
    def rank(self) -> int:
        """Strength for comparisons (higher is stricter)."""
        return list(ProofLevel).index(self)


@dataclass(frozen=True, slots=True)
class OrderLine:
    """``quantity`` units of ``sku``."""

    sku: Sku
    quantity: int

    def __post_init__(self) -> None:
        require_id(self.sku, "sku")
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int):
            raise InvalidQuantity(f"quantity of {self.sku!r} must be an integer")
        if self.quantity <= 0:
            raise InvalidQuantity(f"quantity of {self.sku!r} must be positive")
        if self.quantity > MAX_LINE_QUANTITY:
            raise InvalidQuantity(
                f"quantity of {self.sku!r} is above {MAX_LINE_QUANTITY}"
            )


@dataclass(frozen=True, slots=True)
class PatientContact:
    """Patient name, phone and address: encrypted at rest, read only via audit."""

    name: str
    phone: str
    address: str

    def __repr__(self) -> str:  # never leak into logs or tracebacks
        return "PatientContact(<redacted>)"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A new order as submitted (before catalogue and stock checks)."""

    patient_ref: str
    contact: PatientContact
    delivery_location: GeoPoint
    lines: tuple[OrderLine, ...]
    window_start_at: datetime
    window_end_at: datetime
    idempotency_key: str
    priority: Priority = Priority.STANDARD
    proof_level: ProofLevel | None = None
    """Requested level; the effective level is never weaker than the products need."""
    access_notes: str = ""
    """How to reach the door (gate code, floor); shown to the delivering rider."""

    def __repr__(self) -> str:  # contact and notes never reach logs
        return f"OrderRequest(idempotency_key={self.idempotency_key!r})"

    def validate(self, *, now: datetime) -> None:
        """Raise a typed error for any rule broken without needing the database."""
        require_id(self.patient_ref, "patient_ref")
        require_id(self.idempotency_key, "idempotency_key")
        if not self.lines:
            raise InvalidQuantity("an order needs at least one line")
        skus = [line.sku for line in self.lines]
        if len(set(skus)) != len(skus):
            raise InvalidInput("each SKU may appear on one line only")
        start = require_utc(self.window_start_at, "window_start_at")
        end = require_utc(self.window_end_at, "window_end_at")
        if end <= start:
            raise InvalidTimeWindow("the promised window closes before it opens")
        if end <= now:
            raise InvalidTimeWindow("the promised window is in the past")
        if end > now + MAX_BOOKING_AHEAD:
            raise InvalidTimeWindow(
                f"the promised window must close within {MAX_BOOKING_AHEAD.days} days"
            )
        if not self.contact.name.strip() or not self.contact.address.strip():
            raise InvalidInput("patient name and address are required")
        require_plain_text(self.patient_ref, "patient_ref")
        require_plain_text(self.contact.name, "patient.name")
        require_plain_text(self.contact.phone, "patient.phone")
        require_plain_text(self.contact.address, "patient.address", multiline=True)
        require_plain_text(self.access_notes, "access_notes", multiline=True)
        if len(self.access_notes) > MAX_ACCESS_NOTES_CHARS:
            raise InvalidInput(
                f"access notes are limited to {MAX_ACCESS_NOTES_CHARS} characters"
            )

    def fingerprint(self) -> tuple[object, ...]:
        """What must match for an idempotent resubmission to be "the same order"."""
        return (
            self.patient_ref,
            tuple(sorted((line.sku, line.quantity) for line in self.lines)),
            round(self.delivery_location.lat, 6),
            round(self.delivery_location.lon, 6),
        )


@dataclass(frozen=True, slots=True)
class Order:
    """A stored order and where it is in its lifecycle."""

    id: OrderId
    patient_ref: str
    delivery_location: GeoPoint
    lines: tuple[OrderLine, ...]
    window_start_at: datetime
    window_end_at: datetime
    priority: Priority
    proof_level: ProofLevel
    idempotency_key: str
    status: OrderStatus
    created_at: datetime
    version: int = 0
    replacement_of: OrderId | None = None
    held_from: OrderStatus | None = None
    pharmacy_id: PharmacyId | None = None
    """Where the order's stock is reserved (and will be collected)."""
    rider_id: RiderId | None = None
    candidate_pharmacy_ids: tuple[PharmacyId, ...] = ()
    unassigned_reason: str | None = None
    picked_up_at: datetime | None = None
    dispatched_by: str = "planner"
    """``planner`` (re-planned continuously) or ``greedy`` (assigned once, kept)."""
    replaced_by: OrderId | None = None
    """The latest order replacing this one (rejected goods), if any."""

    @property
    def is_open(self) -> bool:
        """Not yet in a terminal state."""
        return self.status not in (
            OrderStatus.DELIVERED,
            OrderStatus.FAILED,
            OrderStatus.CANCELLED,
        )
