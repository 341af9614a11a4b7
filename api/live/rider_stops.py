"""Each rider's remaining stops, built from their orders, pushed on changes.

Visiting order and planned arrivals come from the applied plan; stops the plan
does not (yet) cover follow, pickups before deliveries, by window end. Live ETAs
(from positions) replace planned ones once the rider reports positions. The
route's road geometry (one polyline per leg, :mod:`dispatch.planning.legs`,
cached per leg) runs between the stops shown, and into the first one from where
the plan started the rider when that stop is still the plan's first.

A rebuild reads only the rider's own orders. The plan is parsed once per version
(on ``PlanUpdated``, or when a cheap version check finds a newer one, e.g. applied
by another process). What a rider's route shows of a patient (first name, access
notes: immutable after intake) is decrypted once per (rider, order) and kept while
the rider holds the order; its disclosure is audited once per (rider, order) by
``dispatch.orders.patient_data.disclose_to_rider``, not per rebuild.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from api.live.geofence import FenceKind
from api.live.hub import Hub, rider_topic
from api.live.tracker import LiveTracker, RouteStop
from api.schemas.common import LegRead, Point
from api.schemas.riders import RiderRouteRead, RiderStopRead
from dispatch import fleet
from dispatch.adapters.postgres.unit_of_work import Database, Tx
from dispatch.domain import GeoPoint, Pharmacy, PharmacyId
from dispatch.errors import PlanNotFound, RiderNotFound
from dispatch.events import (
    DispatchEvent,
    HoldPlaced,
    HoldReleased,
    OrderPlaced,
    OrderStatusChanged,
    PlanUpdated,
    RiderChanged,
)
from dispatch.orders import patient_data as patients
from dispatch.orders import queries as order_queries
from dispatch.orders.order import Order, OrderStatus
from dispatch.orders.patient_data import RiderDisclosure
from dispatch.planning import apply as plans
from dispatch.planning.legs import RouteLegs, stop_id
from dispatch.stock import queries as stock_queries

log = logging.getLogger(__name__)

#: riders with more cached disclosures than this lose their oldest entries
MAX_CACHED_RIDERS = 2_000

Slots = dict[tuple[str, str], tuple[int, datetime]]


@dataclass(frozen=True)
class _PlanIndex:
    """The applied plan as rider -> (order id, kind) -> (position, arrival)."""

    version: int | None
    by_rider: dict[str, Slots] = field(default_factory=dict)
    starts: dict[str, tuple[str, GeoPoint]] = field(default_factory=dict)
    """Rider -> (their first planned stop, where the plan started them)."""


def _index(tx: Tx) -> _PlanIndex:
    try:
        plan = plans.current_plan(tx)
    except PlanNotFound:
        return _PlanIndex(None)
    return _PlanIndex(
        plan.version,
        {
            route.rider_id: {
                (s.order_id, s.kind): (i, s.arrival_at)
                for i, s in enumerate(route.stops)
            }
            for route in plan.routes
        },
        {
            route.rider_id: (
                stop_id(route.stops[0].order_id, route.stops[0].kind),
                route.start,
            )
            for route in plan.routes
            if route.start is not None and route.stops
        },
    )


def _stops(
    orders: list[Order],
    pharmacies: dict[PharmacyId, Pharmacy],
    planned: Slots,
    shown: dict[str, RiderDisclosure],
) -> list[RiderStopRead]:
    mine = sorted(orders, key=lambda o: (o.window_end_at, o.id))
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
        patient = shown.get(o.id)
        if patient is not None:
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
                        first_name=patient.first_name,
                        access_notes=patient.access_notes or None,
                        eta_at=eta,
                        **window,
                    ),
                )
            )
    return [stop for _, stop in sorted(stops, key=lambda item: item[0])]


class RiderRoutes:
    """Builds route views and keeps live tracking and rider feeds current."""

    def __init__(
        self,
        db: Database,
        live: LiveTracker,
        hub: Hub,
        *,
        legs: RouteLegs | None = None,
    ) -> None:
        self._db = db
        self._live = live
        self._hub = hub
        self._legs = legs or RouteLegs()
        self._lock = threading.Lock()
        self._plan_lock = threading.Lock()
        self._plan = _PlanIndex(None)
        self._plan_loaded = False
        self._riders_by_order: dict[str, set[str]] = {}
        self._orders_by_rider: dict[str, set[str]] = {}
        # rider -> order -> what their route shows; LRU over riders
        self._shown: OrderedDict[str, dict[str, RiderDisclosure]] = OrderedDict()

    def view(self, rider_id: str) -> RiderRouteRead:
        """The rider's remaining stops with the latest live ETAs."""
        return self._build(rider_id)[0]

    def _build(self, rider_id: str) -> tuple[RiderRouteRead, str]:
        """The route view and the rider's travel profile, in one transaction."""
        with self._db.transaction() as tx:
            orders = order_queries.list_rider_orders(
                tx, rider_id, patients.RIDER_VISIBLE
            )
            pharmacies = stock_queries.list_pharmacies(
                tx, [o.pharmacy_id for o in orders if o.pharmacy_id]
            )
            index = self._current_plan(tx)
            planned = index.by_rider.get(rider_id, {})
            shown = self._disclosures(tx, rider_id, orders)
            try:
                profile = fleet.get_rider(tx, rider_id).vehicle_type.value
            except RiderNotFound:  # unknown rider: default travel profile
                profile = "bike"
        # cached only once the disclosure (and its audit entry) committed
        self._keep(rider_id, shown)
        stops = _stops(orders, pharmacies, planned, shown)
        for stop in stops:
            stop.eta_at = self._live.eta_of_stop(rider_id, stop.stop_id) or stop.eta_at
        first, start = index.starts.get(rider_id, (None, None))
        legs = self._legs.between(
            [(s.stop_id, GeoPoint(s.location.lat, s.location.lon)) for s in stops],
            start if stops and stops[0].stop_id == first else None,
        )
        return (
            RiderRouteRead(rider_id=rider_id, stops=stops, legs=LegRead.all_of(legs)),
            profile,
        )

    def _current_plan(self, tx: Tx) -> _PlanIndex:
        """The cached plan, re-read only when a newer version was applied."""
        version = plans.current_version(tx)
        with self._plan_lock:
            if not self._plan_loaded or self._plan.version != version:
                self._plan = _index(tx)
                self._plan_loaded = True
            return self._plan

    def _disclosures(
        self, tx: Tx, rider_id: str, orders: list[Order]
    ) -> dict[str, RiderDisclosure]:
        wanted = [str(o.id) for o in orders if o.status in patients.RIDER_VISIBLE]
        with self._lock:
            cached = self._shown.get(rider_id, {})
            shown: dict[str, RiderDisclosure] = {
                oid: cached[oid] for oid in wanted if oid in cached
            }
        missing = [oid for oid in wanted if oid not in shown]
        if missing:
            shown |= patients.disclose_to_rider(tx, rider_id, missing)
        return shown

    def _keep(self, rider_id: str, shown: dict[str, RiderDisclosure]) -> None:
        """Cache exactly the rider's current orders (others left their hands)."""
        with self._lock:
            if shown:
                self._shown[rider_id] = dict(shown)
                self._shown.move_to_end(rider_id)
                while len(self._shown) > MAX_CACHED_RIDERS:
                    self._shown.popitem(last=False)
            else:
                self._shown.pop(rider_id, None)

    def refresh(self, rider_id: str) -> None:
        """Rebuild a rider's route; push it to their feed and to live tracking."""
        route, profile = self._build(rider_id)
        with self._lock:
            for order_id in self._orders_by_rider.pop(rider_id, set()):
                riders = self._riders_by_order.get(order_id)
                if riders is not None:
                    riders.discard(rider_id)
                    if not riders:
                        del self._riders_by_order[order_id]
            mine = {stop.order_id for stop in route.stops}
            for order_id in mine:
                self._riders_by_order.setdefault(order_id, set()).add(rider_id)
            if mine:
                self._orders_by_rider[rider_id] = mine
        to_collect = {s.order_id for s in route.stops if s.kind == "pickup"}
        live_stops = [
            RouteStop(
                s.stop_id,
                FenceKind.pharmacy if s.kind == "pickup" else FenceKind.delivery,
                s.order_id,
                s.location.lat,
                s.location.lon,
                earliest_start_at=s.window_start_at,
                carried=s.order_id not in to_collect,
            )
            for s in route.stops
        ]
        self._hub.call_on_loop(self._live.set_route, rider_id, live_stops, profile)
        self._hub.publish(
            rider_topic(rider_id), "route.updated", route.model_dump(mode="json")
        )

    def on_event(self, event: DispatchEvent) -> None:
        """Refresh the routes an event may have changed (runs on a worker)."""
        self.on_frame(event.type, event.to_dict())

    def on_frame(self, type_: str, data: Mapping[str, Any]) -> None:
        """Refresh the routes a dispatch-feed event may have changed, given as
        its frame's ``type`` and ``data`` (alerts carry the event's ``kind``):
        another API instance's events arrive so (runs on a worker)."""
        kind = str(data.get("kind", type_)) if type_ == "alert" else type_
        for rider_id in sorted(self._affected(kind, data)):
            self.refresh(rider_id)

    def _affected(self, kind: str, data: Mapping[str, Any]) -> set[str]:
        if kind == RiderChanged.type:
            # a position fix changes no route; shifts and status may
            if data.get("what") == "position" or not data.get("rider_id"):
                return set()
            return {str(data["rider_id"])}
        if kind == PlanUpdated.type:
            # the plan is read here, once; each rider's rebuild finds it current
            with self._db.transaction() as tx:
                index = self._current_plan(tx)
            with self._lock:
                known = set(self._orders_by_rider)
            return known | set(index.by_rider)
        order_ids: Iterable[str] = ()
        if kind in (OrderStatusChanged.type, OrderPlaced.type):
            order_ids = (str(data["order_id"]),)
        elif kind in (HoldPlaced.type, HoldReleased.type):
            order_ids = [str(o) for o in data.get("order_ids", ())]
        riders: set[str] = set()
        with self._lock:
            for order_id in order_ids:
                riders |= self._riders_by_order.get(order_id, set())
        if order_ids:
            with self._db.transaction() as tx:
                for order in order_queries.list_orders(tx, ids=list(order_ids)):
                    if order.rider_id:
                        riders.add(order.rider_id)
        return riders
