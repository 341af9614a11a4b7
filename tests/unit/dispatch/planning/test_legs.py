"""Route legs: polylines from stop to stop along the roads, cached per leg and
per plan version, and nothing at all without a road graph."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from dispatch.domain import GeoPoint
from dispatch.planning import legs as legs_module
from dispatch.planning.legs import RouteLegs, _Places
from dispatch.planning.plan import Plan, PlannedStop, RiderRoute
from routing.paths import RoadPaths
from routing.polyline import decode_polyline
from routing.road_network import simplify
from tests.unit.routing.test_matrix import LAT0, LON0, STEP, grid_graph

NOW = datetime(2026, 11, 21, 9, tzinfo=UTC)
RAW = grid_graph(size=5, split=3)
START = GeoPoint(LAT0 + 0.00002, LON0 + 0.00003)
STOPS = [
    ("o1:pickup", GeoPoint(LAT0 + 2 * STEP, LON0 + STEP + 0.00004)),
    ("o1:delivery", GeoPoint(LAT0 + 4 * STEP - 0.00003, LON0 + 4 * STEP)),
    ("o2:delivery", GeoPoint(LAT0 + STEP, LON0 + 3 * STEP)),
]


@pytest.fixture(scope="module")
def paths() -> RoadPaths:
    return RoadPaths(simplify(RAW))


def _graph_points() -> set[tuple[float, float]]:
    return {
        (round(a, 5), round(b, 5))
        for a, b in zip(RAW.node_lat, RAW.node_lon, strict=True)
    }


def test_each_leg_runs_from_its_start_to_its_stop_over_graph_nodes(
    paths: RoadPaths,
) -> None:
    """Start -> first stop -> ...: each polyline begins where the leg begins,
    ends at its stop, and passes only graph nodes in between."""
    legs = RouteLegs(paths).between(STOPS, START)
    assert legs is not None
    assert [(leg.from_stop, leg.to_stop) for leg in legs] == [
        (None, "o1:pickup"),
        ("o1:pickup", "o1:delivery"),
        ("o1:delivery", "o2:delivery"),
    ]
    ends = [START] + [at for _, at in STOPS]
    nodes = _graph_points()
    for leg, begin, end in zip(legs, ends, ends[1:], strict=False):
        assert leg.polyline is not None
        points = decode_polyline(leg.polyline)
        assert points[0] == pytest.approx((begin.lat, begin.lon), abs=6e-6)
        assert points[-1] == pytest.approx((end.lat, end.lon), abs=6e-6)
        assert len(points) > 2
        assert {(round(a, 5), round(b, 5)) for a, b in points[1:-1]} <= nodes
        straight = np.hypot(
            (end.lat - begin.lat) * 111_195,
            (end.lon - begin.lon) * 111_195 * np.cos(np.radians(LAT0)),
        )
        assert leg.distance_m is not None
        assert leg.distance_m >= straight - 1


def test_without_a_start_the_first_stop_has_no_leg(paths: RoadPaths) -> None:
    """Legs join the stops only; a single stop has none."""
    legs = RouteLegs(paths).between(STOPS)
    assert legs is not None
    assert [leg.to_stop for leg in legs] == ["o1:delivery", "o2:delivery"]
    assert RouteLegs(paths).between(STOPS[:1]) == ()


def test_no_road_graph_means_no_geometry() -> None:
    """None, not straight lines, until a graph is given; ``use`` swaps it."""
    legs = RouteLegs()
    assert not legs.available
    assert legs.between(STOPS, START) is None
    legs.use(RoadPaths(simplify(RAW)))
    assert legs.available
    assert legs.between(STOPS, START) is not None


def test_a_leg_is_searched_once_however_many_routes_share_it(
    paths: RoadPaths,
) -> None:
    """The second route over the same stops is served from the leg cache; a new
    graph empties it."""
    legs = RouteLegs(paths)
    first = legs.between(STOPS, START)
    assert legs.stats["legs_computed"] == 3
    again = legs.between(STOPS[1:])  # shares the o1:delivery -> o2:delivery leg
    assert legs.stats["legs_computed"] == 3
    assert legs.stats["legs_from_cache"] == 1
    assert first is not None
    assert again is not None
    assert again[0].polyline == first[2].polyline
    legs.use(paths)
    legs.between(STOPS[1:])
    assert legs.stats["legs_computed"] == 4


def _plan(version: int, start: GeoPoint | None = START) -> Plan:
    stops = (
        PlannedStop("o1", "pickup", "ph-1", NOW),
        PlannedStop("o1", "delivery", None, NOW),
        PlannedStop("o2", "delivery", None, NOW),
    )
    routes = (RiderRoute("r1", stops, 600, 3000, start), RiderRoute("r2", (), 0, 0))
    return Plan(version, NOW, "feasible", 1, 0.1, routes, ())


def test_plan_legs_are_read_and_computed_once_per_version(
    paths: RoadPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan version's stop places are read once; its routes' legs are kept."""
    reads: list[int] = []

    def read(db: Any, routes: Any) -> _Places:
        reads.append(len(routes))
        return _Places({"ph-1": STOPS[0][1]}, {"o1": STOPS[1][1], "o2": STOPS[2][1]})

    monkeypatch.setattr(legs_module._Places, "read", staticmethod(read))
    legs = RouteLegs(paths)
    db: Any = object()
    by_rider = legs.of_plan(db, _plan(1))
    assert by_rider is not None
    assert [leg.to_stop for leg in by_rider["r1"]] == [s for s, _ in STOPS]
    assert by_rider["r2"] == ()
    assert legs.of_plan(db, _plan(1)) == by_rider
    assert legs.of_route(db, _plan(1), "r1") == by_rider["r1"]
    assert reads == [2]
    legs.of_route(db, _plan(2, start=None), "r1")
    assert reads == [2, 1]
    assert len(legs.of_route(db, _plan(2), "r1") or ()) == 2  # v2 has no start
    assert legs.of_route(db, _plan(2), "nobody") == ()
    assert RouteLegs().of_plan(db, _plan(1)) is None
