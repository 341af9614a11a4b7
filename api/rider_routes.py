"""Each rider's remaining stops, built from their orders, pushed on changes.

Visiting order and planned arrivals come from the applied plan; stops the plan
does not (yet) cover follow, pickups before deliveries, by window end. Live ETAs
(from positions) replace planned ones once the rider reports positions.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import datetime

from api.geofence import FenceKind
from api.live import LiveTracker, RouteStop
from api.schemas.common import Point
from api.schemas.riders import RiderRouteRead, RiderStopRead
from api.ws_hub import Hub, rider_topic
from dispatch import patients, plans
from dispatch.adapters import postgres_catalogue as catalogue_repo
from dispatch.adapters import postgres_orders as orders_repo
from dispatch.adapters.postgres import Database, Tx
from dispatch.errors import PlanNotFound
from dispatch.events import (
    DispatchEvent,
    HoldPlaced,
    HoldReleased,
    OrderPlaced,
    OrderStatusChanged,
    PlanUpdated,
    RiderChanged,
)
from dispatch.orders import Order, OrderStatus

log = logging.getLogger(__name__)

ACTIVE = (OrderStatus.ASSIGNED, OrderStatus.PICKED_UP, OrderStatus.ON_HOLD)


def _first_name(tx: Tx, order_id: str, rider_id: str) -> str:
    contact = patients.reveal_contact(
        tx, order_id, actor=f"rider:{rider_id}", purpose="rider_route_first_name"
    )
    parts = contact.name.split()
    return parts[0] if parts else ""


def _planned_order(
    tx: Tx, rider_id: str
) -> dict[tuple[str, str], tuple[int, datetime]]:
    """(order id, kind) -> (position in the rider's planned route, planned arrival)."""
    try:
        plan = plans.current_plan(tx)
    except PlanNotFound:
        return {}
    for route in plan.routes:
        if route.rider_id == rider_id:
            return {
                (s.order_id, s.kind): (i, s.arrival_at)
                for i, s in enumerate(route.stops)
            }
    return {}


def _stops(tx: Tx, rider_id: str, orders: list[Order]) -> list[RiderStopRead]:
    mine = sorted(
        (o for o in orders if o.rider_id == rider_id),
        key=lambda o: (o.window_end_at, o.id),
    )
    pharmacies = catalogue_repo.list_pharmacies(
        tx, [o.pharmacy_id for o in mine if o.pharmacy_id]
    )
    planned = _planned_order(tx, rider_id)
    stops: list[tuple[tuple[int, int, int], RiderStopRead]] = []
    for rank, o in enumerate(mine):
        window = {
            "window_start_at": o.window_start_at,
            "window_end_at": o.window_end_at,
        }
        ph = pharmacies.get(o.pharmacy_id) if o.pharmacy_id else None
        if o.status is OrderStatus.ASSIGNED and ph is not None:
            slot, eta = planned.get((o.id, "pickup"), (None, None))
            stops.append(
                (
                    (0, slot if slot is not None else 10_000, rank),
                    RiderStopRead(
                        stop_id=f"{o.id}:pickup",
                        kind="pickup",
                        order_id=o.id,
                        location=Point(lat=ph.location.lat, lon=ph.location.lon),
                        place_name=ph.name,
                        first_name=None,
                        access_notes=None,
                        eta_at=eta,
                        **window,
                    ),
                )
            )
        if o.status in (OrderStatus.ASSIGNED, OrderStatus.PICKED_UP):
            slot, eta = planned.get((o.id, "delivery"), (None, None))
            stops.append(
                (
                    (
                        0 if slot is not None else 1,
                        slot if slot is not None else 10_000,
                        rank,
                    ),
                    RiderStopRead(
                        stop_id=f"{o.id}:delivery",
                        kind="delivery",
                        order_id=o.id,
                        location=Point(
                            lat=o.delivery_location.lat, lon=o.delivery_location.lon
                        ),
                        place_name=None,
                        first_name=_first_name(tx, o.id, rider_id),
                        access_notes=patients.read_access_notes(
                            tx, o.id, actor=f"rider:{rider_id}"
                        )
                        or None,
                        eta_at=eta,
                        **window,
                    ),
                )
            )
    return [stop for _, stop in sorted(stops, key=lambda item: item[0])]


class RiderRoutes:
    """Builds route views and keeps live tracking and rider feeds current."""

    def __init__(self, db: Database, live: LiveTracker, hub: Hub) -> None:
        self._db = db
        self._live = live
        self._hub = hub
        self._lock = threading.Lock()
        self._riders_by_order: dict[str, set[str]] = {}

    def view(self, rider_id: str) -> RiderRouteRead:
        """The rider's remaining stops with the latest live ETAs."""
        with self._db.transaction() as tx:
            orders = orders_repo.list_orders(tx, statuses=ACTIVE)
            stops = _stops(tx, rider_id, orders)
        for stop in stops:
            stop.eta_at = self._live.eta_of_stop(rider_id, stop.stop_id) or stop.eta_at
        return RiderRouteRead(rider_id=rider_id, stops=stops)

    def refresh(self, rider_id: str) -> None:
        """Rebuild a rider's route; push it to their feed and to live tracking."""
        route = self.view(rider_id)
        with self._lock:
            for riders in self._riders_by_order.values():
                riders.discard(rider_id)
            for stop in route.stops:
                self._riders_by_order.setdefault(stop.order_id, set()).add(rider_id)
        with self._db.transaction() as tx:
            try:
                profile = catalogue_repo.get_rider(tx, rider_id).vehicle_type.value
            except Exception:  # unknown rider: default travel profile
                profile = "bike"
        live_stops = [
            RouteStop(
                s.stop_id,
                FenceKind.pharmacy if s.kind == "pickup" else FenceKind.delivery,
                s.order_id,
                s.location.lat,
                s.location.lon,
                earliest_start_at=s.window_start_at,
            )
            for s in route.stops
        ]
        self._hub.call_on_loop(self._live.set_route, rider_id, live_stops, profile)
        self._hub.publish(
            rider_topic(rider_id), "route.updated", route.model_dump(mode="json")
        )

    def on_event(self, event: DispatchEvent) -> None:
        """Refresh the routes an event may have changed (runs on a worker)."""
        for rider_id in sorted(self._affected(event)):
            self.refresh(rider_id)

    def _affected(self, event: DispatchEvent) -> set[str]:
        if isinstance(event, RiderChanged):
            # a position fix changes no route; shifts and status may
            return set() if event.what == "position" else {event.rider_id}
        order_ids: Iterable[str] = ()
        if isinstance(event, OrderStatusChanged | OrderPlaced):
            order_ids = (event.order_id,)
        elif isinstance(event, HoldPlaced | HoldReleased):
            order_ids = event.order_ids
        elif isinstance(event, PlanUpdated):
            with self._db.transaction() as tx:
                orders = orders_repo.list_orders(tx, statuses=ACTIVE)
            with self._lock:
                known = set().union(*self._riders_by_order.values())
            return known | {o.rider_id for o in orders if o.rider_id}
        riders: set[str] = set()
        with self._lock:
            for order_id in order_ids:
                riders |= self._riders_by_order.get(order_id, set())
        if order_ids:
            with self._db.transaction() as tx:
                for order in orders_repo.list_orders(tx, ids=list(order_ids)):
                    if order.rider_id:
                        riders.add(order.rider_id)
        return riders
