"""Domain events (frozen, past tense), published after their transaction commits.

Events carry ids and codes only, never patient data or OTPs, so any audience may
receive them. ``type`` is the stable wire name the API's websocket uses.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, ClassVar

__all__ = [
    "DispatchEvent",
    "HoldPlaced",
    "HoldRejected",
    "HoldReleased",
    "OrderPlaced",
    "OrderStatusChanged",
    "OrderUnassignable",
    "OtpLockedOut",
    "PharmacyChanged",
    "PlanUpdated",
    "ProofFlagged",
    "RiderChanged",
    "RiderStopReleased",
    "StockWrittenOff",
    "WorkerFailed",
    "WorkerRecovered",
]


@dataclass(frozen=True, slots=True)
class DispatchEvent:
    """Base of every event."""

    type: ClassVar[str] = "dispatch.event"
    triggers_replan: ClassVar[bool] = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready payload including ``type``."""
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        return {"type": self.type, **data}


@dataclass(frozen=True, slots=True)
class OrderPlaced(DispatchEvent):
    """A new order was accepted and sourced (or left created if no stock)."""

    type: ClassVar[str] = "order.placed"
    triggers_replan: ClassVar[bool] = True
    order_id: str
    status: str
    pharmacy_id: str | None = None


@dataclass(frozen=True, slots=True)
class OrderStatusChanged(DispatchEvent):
    """An order moved in its lifecycle."""

    type: ClassVar[str] = "order.status_changed"
    triggers_replan: ClassVar[bool] = True
    order_id: str
    from_status: str
    to_status: str
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class HoldPlaced(DispatchEvent):
    """Orders were put on hold (e.g. a cold-box excursion)."""

    type: ClassVar[str] = "hold.placed"
    triggers_replan: ClassVar[bool] = True
    hold_id: int
    order_ids: tuple[str, ...]
    reason: str
    box_id: str | None = None


@dataclass(frozen=True, slots=True)
class HoldReleased(DispatchEvent):
    """A pharmacist released a hold: the goods may continue."""

    type: ClassVar[str] = "hold.released"
    triggers_replan: ClassVar[bool] = True
    hold_id: int
    order_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HoldRejected(DispatchEvent):
    """A pharmacist rejected held goods: written off and replaced."""

    type: ClassVar[str] = "hold.rejected"
    triggers_replan: ClassVar[bool] = True
    hold_id: int
    replacements: tuple[tuple[str, str], ...]
    """``(original_order_id, replacement_order_id)`` pairs."""


@dataclass(frozen=True, slots=True)
class StockWrittenOff(DispatchEvent):
    """Units were written off (rejected goods, failed cold delivery)."""

    type: ClassVar[str] = "stock.written_off"
    order_id: str
    lot_id: int
    quantity: int
    reason: str


@dataclass(frozen=True, slots=True)
class OtpLockedOut(DispatchEvent):
    """Too many wrong OTPs: the dispatcher must step in."""

    type: ClassVar[str] = "otp.locked"
    order_id: str
    rider_id: str | None
    attempts: int


@dataclass(frozen=True, slots=True)
class ProofFlagged(DispatchEvent):
    """A delivery was completed beyond the proof radius (flag mode)."""

    type: ClassVar[str] = "proof.flagged"
    order_id: str
    distance_m: float


@dataclass(frozen=True, slots=True)
class RiderChanged(DispatchEvent):
    """A rider's shift, status or position changed."""

    type: ClassVar[str] = "rider.changed"
    triggers_replan: ClassVar[bool] = True
    rider_id: str
    what: str


@dataclass(frozen=True, slots=True)
class RiderStopReleased(DispatchEvent):
    """A new plan dropped the stop a rider was driving to: the rider can no
    longer serve that order, or no plan could keep every rider's next stop
    (``detail``: why, ids and numbers only); the dispatcher should tell the rider
    to turn away from it."""

    type: ClassVar[str] = "rider.stop_released"
    rider_id: str
    order_id: str
    detail: str


@dataclass(frozen=True, slots=True)
class PlanUpdated(DispatchEvent):
    """A new plan version was applied."""

    type: ClassVar[str] = "plan.updated"
    version: int
    routes: int
    assigned: int
    unassigned: int
    status: str


@dataclass(frozen=True, slots=True)
class OrderUnassignable(DispatchEvent):
    """The routing engine could not serve an order; it stays visible."""

    type: ClassVar[str] = "order.unassignable"
    order_id: str
    reason: str
    detail: str = field(default="")


@dataclass(frozen=True, slots=True)
class PharmacyChanged(DispatchEvent):
    """A pharmacy was edited (``what``: the fields) or (de)activated; plans
    offer it with its new hours, zone and place."""

    type: ClassVar[str] = "pharmacy.changed"
    triggers_replan: ClassVar[bool] = True
    pharmacy_id: str
    what: tuple[str, ...]
    active: bool


@dataclass(frozen=True, slots=True)
class WorkerFailed(DispatchEvent):
    """A background worker (``replanner``, ``ingest``, ``notifier``,
    ``excursion_monitor``, ``silence_monitor``) failed a round and goes on with
    the next; sent once per spell and error, not every round. ``error`` is the
    exception type and code location, never its message."""

    type: ClassVar[str] = "worker.failed"
    worker: str
    stage: str
    error: str
    consecutive_failures: int
    status: str = "degraded"
    """``degraded`` (a round failed) or ``stopped`` (its loop ended; restarting)."""


@dataclass(frozen=True, slots=True)
class WorkerRecovered(DispatchEvent):
    """A worker that had failed completed a round again."""

    type: ClassVar[str] = "worker.recovered"
    worker: str
    failed_rounds: int
