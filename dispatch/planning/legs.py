"""Road geometry of planned routes: one encoded polyline per leg, computed lazily.

A leg runs from the route's start (where the rider was when the plan was
computed) or from the previous stop, to the next stop. Its shape is the fastest
path on the bundled city's road graph (:class:`routing.paths.RoadPaths` over
:mod:`dispatch.city`), drawn along the real streets, as a Google encoded
polyline (precision 5). Without a road graph there is no geometry at all
(``None``), never a straight line.

Nothing is computed until asked for, and then cached twice: each leg by its two
end points (a leg the next plan keeps is never searched again, and riders' own
route views share it), and the legs of each route per plan version (reading the
same plan again costs dictionary look-ups, not a database read).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.domain import GeoPoint
from dispatch.orders import queries as order_queries
from dispatch.planning.plan import Plan, RiderRoute
from dispatch.stock import queries as stock_queries
from routing.paths import RoadPaths
from routing.polyline import encode_polyline

__all__ = ["Leg", "RouteLegs", "stop_id"]

_Key = tuple[int, int, int, int]


def stop_id(order_id: str, kind: str) -> str:
    """The id of a stop, ``<order id>:<pickup|delivery>`` (as the live feeds use)."""
    return f"{order_id}:{kind}"


@dataclass(frozen=True, slots=True)
class Leg:
    """The road from one point of a route to its next stop."""

    to_stop: str
    from_stop: str | None
    """None: from the route's start (the rider's position when planned)."""
    polyline: str | None
    """Encoded polyline (precision 5) from the leg's start to the stop; None
    only when the road graph has no path between them."""
    distance_m: int | None
    """Length of that polyline, metres."""


def _key(a: GeoPoint, b: GeoPoint) -> _Key:
    # a micro-degree (~0.1 m) tells stops apart and survives float round trips
    return (
        round(a.lat * 1e6),
        round(a.lon * 1e6),
        round(b.lat * 1e6),
        round(b.lon * 1e6),
    )


@dataclass(frozen=True, slots=True)
class _Shape:
    polyline: str | None
    distance_m: int | None


class RouteLegs:
    """Leg geometry of plans and routes, cached per leg and per plan version.

    Thread-safe; computing happens outside the lock (two threads asking for the
    same new leg at once may both compute it, with the same result).
    """

    def __init__(
        self,
        paths: RoadPaths | None = None,
        *,
        max_legs: int = 50_000,
        plan_versions: int = 4,
    ) -> None:
        self._paths = paths
        self._max_legs = max_legs
        self._plan_versions = plan_versions
        self._lock = threading.Lock()
        self._legs: OrderedDict[_Key, _Shape] = OrderedDict()
        self._plans: OrderedDict[int, dict[str, tuple[Leg, ...]]] = OrderedDict()
        self.stats = {"legs_computed": 0, "legs_from_cache": 0}

    @property
    def available(self) -> bool:
        """Whether a road graph is loaded (else every geometry is None)."""
        return self._paths is not None

    def use(self, paths: RoadPaths | None) -> None:
        """Draw on ``paths`` from now on (e.g. once the city has loaded)."""
        with self._lock:
            self._paths = paths
            self._legs.clear()
            self._plans.clear()

    # -- any sequence of stops ---------------------------------------------------
    def between(
        self, stops: Sequence[tuple[str, GeoPoint]], start: GeoPoint | None = None
    ) -> tuple[Leg, ...] | None:
        """Legs through ``stops`` ((stop id, location) in visiting order), the
        first from ``start`` when given; None without a road graph."""
        return self._many([(stops, start)])[0]

    def _many(
        self, routes: Sequence[tuple[Sequence[tuple[str, GeoPoint]], GeoPoint | None]]
    ) -> list[tuple[Leg, ...] | None]:
        paths = self._paths
        if paths is None:
            return [None] * len(routes)
        planned: list[list[tuple[str, str | None, GeoPoint, GeoPoint]]] = []
        for stops, start in routes:
            legs: list[tuple[str, str | None, GeoPoint, GeoPoint]] = []
            prev_id, prev_at = None, start
            for sid, at in stops:
                if prev_at is not None:
                    legs.append((sid, prev_id, prev_at, at))
                prev_id, prev_at = sid, at
            planned.append(legs)
        shapes = self._shapes(
            paths, [(a, b) for legs in planned for _, _, a, b in legs]
        )
        return [
            tuple(
                Leg(to, frm, shapes[_key(a, b)].polyline, shapes[_key(a, b)].distance_m)
                for to, frm, a, b in legs
            )
            for legs in planned
        ]

    def _shapes(
        self, paths: RoadPaths, ends: Iterable[tuple[GeoPoint, GeoPoint]]
    ) -> dict[_Key, _Shape]:
        found: dict[_Key, _Shape] = {}
        missing: dict[_Key, tuple[GeoPoint, GeoPoint]] = {}
        with self._lock:
            for a, b in ends:
                key = _key(a, b)
                shape = self._legs.get(key)
                if shape is not None:
                    self._legs.move_to_end(key)
                    found[key] = shape
                elif key not in found:
                    missing[key] = (a, b)
            self.stats["legs_from_cache"] += len(found)
        if not missing:
            return found
        computed = paths.paths(
            [((a.lat, a.lon), (b.lat, b.lon)) for a, b in missing.values()]
        )
        fresh: dict[_Key, _Shape] = {}
        for key, path in zip(missing, computed, strict=True):
            fresh[key] = (
                _Shape(None, None)
                if path is None
                else _Shape(
                    encode_polyline((lat, lon) for lat, lon in path.points.tolist()),
                    round(path.length_m),
                )
            )
        with self._lock:
            if self._paths is paths:  # not swapped meanwhile
                self._legs.update(fresh)
                while len(self._legs) > self._max_legs:
                    self._legs.popitem(last=False)
            self.stats["legs_computed"] += len(fresh)
        return found | fresh

    # -- plans -------------------------------------------------------------------
    # The stops' places are read in a short transaction of their own, only for
    # routes not cached yet; paths are searched after it, holding no connection.
    def of_plan(self, db: Database, plan: Plan) -> dict[str, tuple[Leg, ...]] | None:
        """Rider id -> the legs of their route in ``plan``; None without a graph."""
        return self._of_routes(db, plan, plan.routes)

    def of_route(
        self, db: Database, plan: Plan, rider_id: str
    ) -> tuple[Leg, ...] | None:
        """The legs of one rider's route in ``plan`` (empty: no route)."""
        routes = [r for r in plan.routes if r.rider_id == rider_id]
        legs = self._of_routes(db, plan, routes)
        return None if legs is None else legs.get(rider_id, ())

    def _of_routes(
        self, db: Database, plan: Plan, routes: Sequence[RiderRoute]
    ) -> dict[str, tuple[Leg, ...]] | None:
        paths = self._paths
        if paths is None:
            return None
        with self._lock:
            cached = dict(self._plans.get(plan.version, {}))
        todo = [r for r in routes if r.rider_id not in cached]
        if todo:
            places = _Places.read(db, todo)
            located = [(r, places.stops_of(r)) for r in todo]
            computed = self._many([(stops, r.start) for r, stops in located])
            fresh = {
                r.rider_id: legs
                for (r, _), legs in zip(located, computed, strict=True)
                if legs is not None
            }
            cached |= fresh
            with self._lock:
                if self._paths is paths:
                    self._plans.setdefault(plan.version, {}).update(fresh)
                    self._plans.move_to_end(plan.version)
                    while len(self._plans) > self._plan_versions:
                        self._plans.popitem(last=False)
        return {r.rider_id: cached.get(r.rider_id, ()) for r in routes}


@dataclass(frozen=True, slots=True)
class _Places:
    """Where the stops of some routes are: pharmacies and delivery addresses."""

    pharmacies: dict[str, GeoPoint]
    deliveries: dict[str, GeoPoint]

    @classmethod
    def read(cls, db: Database, routes: Sequence[RiderRoute]) -> _Places:
        """One read of the orders and pharmacies the ``routes`` visit."""
        order_ids = {s.order_id for r in routes for s in r.stops}
        pharmacy_ids = {s.pharmacy_id for r in routes for s in r.stops if s.pharmacy_id}
        with db.transaction() as tx:
            orders = order_queries.list_orders(tx, ids=sorted(order_ids))
            pharmacies = stock_queries.list_pharmacies(tx, sorted(pharmacy_ids))
        return cls(
            {pid: p.location for pid, p in pharmacies.items()},
            {o.id: o.delivery_location for o in orders},
        )

    def stops_of(self, route: RiderRoute) -> list[tuple[str, GeoPoint]]:
        """``route``'s stops with their locations, in visiting order."""
        located: list[tuple[str, GeoPoint]] = []
        for stop in route.stops:
            if stop.kind == "pickup":
                at = self.pharmacies.get(stop.pharmacy_id or "")
            else:
                at = self.deliveries.get(stop.order_id)
            if at is not None:  # a pharmacy removed since the plan: no leg to it
                located.append((stop_id(stop.order_id, stop.kind), at))
        return located
