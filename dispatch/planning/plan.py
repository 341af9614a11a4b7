"""A plan: which rider collects and delivers which order, in which order, by when.

Plain data produced by :func:`dispatch.planning.problem.to_plan` and stored by
:mod:`dispatch.planning.apply`; ``basis_*`` record the state it was computed on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from dispatch.domain import GeoPoint
from dispatch.orders.order import Order

__all__ = ["Plan", "PlannedStop", "ReleasedStop", "RiderRoute", "UnservableOrder"]


@dataclass(frozen=True, slots=True)
class PlannedStop:
    """One stop of a rider's route."""

    order_id: str
    kind: str
    """``pickup`` or ``delivery``."""
    pharmacy_id: str | None
    arrival_at: datetime
    late_s: int = 0


@dataclass(frozen=True, slots=True)
class RiderRoute:
    """The ordered stops of one rider."""

    rider_id: str
    stops: tuple[PlannedStop, ...]
    duration_s: int
    distance_m: int
    start: GeoPoint | None = None
    """Where the rider was when the plan was computed (the route's first leg
    starts there); None in plans stored before it was recorded."""


@dataclass(frozen=True, slots=True)
class UnservableOrder:
    """An order the plan cannot serve, with the routing engine's reason.

    ``detail`` is the reason in words (clock times in the business time zone,
    :mod:`dispatch.planning.reasons`); for a missed deadline ``deadline_at`` is
    the deadline (a window's close, a shift's end) and ``earliest_at`` the
    earliest a rider can be there (or finish)."""

    order_id: str
    reason: str
    detail: str = ""
    deadline_at: datetime | None = None
    earliest_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReleasedStop:
    """A rider's next stop (the one it was driving to) that the plan drops: the
    rider can no longer serve that order even alone, or no plan could keep every
    rider's next stop (the re-planner's unpinned fallback); ``detail`` says why, in
    ids and numbers. The order goes elsewhere in the rider's route, to another
    rider, or stays unassigned."""

    rider_id: str
    order_id: str
    detail: str


@dataclass(frozen=True)
class Plan:
    """A versioned plan and the state versions it was computed on."""

    version: int
    created_at: datetime
    status: str
    cost: int
    solve_time_s: float
    routes: tuple[RiderRoute, ...]
    unassigned: tuple[UnservableOrder, ...]
    basis_orders: Mapping[str, int] = field(default_factory=dict)
    """Order id -> version seen when the problem was built."""
    basis_riders: Mapping[str, int] = field(default_factory=dict)
    trigger_reasons: tuple[str, ...] = ()
    basis_order_states: Mapping[str, Order] = field(default_factory=dict)
    """Order id -> the order as the problem saw it (in memory only, not stored):
    lets :func:`dispatch.planning.apply.apply_plan` tell what changed while planning."""
    released_stops: tuple[ReleasedStop, ...] = ()
    """Riders' next stops the plan had to drop (in memory only: the applied plan
    tells the dispatcher and the audit trail, see ``apply_plan``)."""

    def assignments(self) -> dict[str, tuple[str, str | None]]:
        """Order id -> (rider id, pharmacy it is collected from or None)."""
        result: dict[str, tuple[str, str | None]] = {}
        for route in self.routes:
            for stop in route.stops:
                rider, pharmacy = result.get(stop.order_id, (route.rider_id, None))
                if stop.kind == "pickup":
                    pharmacy = stop.pharmacy_id
                result[stop.order_id] = (rider, pharmacy)
        return result
