"""The simulator's own types for what the API answers (no HTTP here).

:mod:`simulator.client` turns JSON bodies into these; the agents use only them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "CreatedOrder",
    "HoldView",
    "OrderView",
    "PatientMessage",
    "RouteStop",
    "parse_dt",
    "parse_route",
]


@dataclass(frozen=True, slots=True)
class CreatedOrder:
    """A created order's id and the patient's tracking-link token."""

    order_id: str
    tracking_token: str
    status: str
    pharmacy_id: str | None


@dataclass(frozen=True, slots=True)
class OrderView:
    """What the simulator needs of the staff view of an order."""

    order_id: str
    status: str
    rider_id: str | None
    pharmacy_id: str | None
    unassigned_reason: str | None
    picked_up_at: datetime | None


@dataclass(frozen=True, slots=True)
class RouteStop:
    """One stop of a rider's route (as the rider's app sees it)."""

    stop_id: str
    kind: str  # "pickup" | "delivery"
    order_id: str
    lat: float
    lon: float
    eta_at: datetime | None


@dataclass(frozen=True, slots=True)
class HoldView:
    """A hold waiting for a pharmacist's decision."""

    hold_id: int
    reason: str
    box_id: str | None
    placed_at: datetime
    order_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PatientMessage:
    """A message in the patient's outbox (e.g. their delivery code)."""

    kind: str
    body: str


def parse_dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def parse_route(body: Any) -> list[RouteStop]:
    """Stops from a ``RiderRouteRead`` body (REST or a ``route.updated`` frame)."""
    stops = body.get("stops", []) if isinstance(body, dict) else []
    return [
        RouteStop(
            stop_id=str(s["stop_id"]),
            kind=str(s["kind"]),
            order_id=str(s["order_id"]),
            lat=float(s["location"]["lat"]),
            lon=float(s["location"]["lon"]),
            eta_at=parse_dt(s.get("eta_at")),
        )
        for s in stops
    ]
