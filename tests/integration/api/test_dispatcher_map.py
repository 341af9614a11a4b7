"""Road geometry for the dispatcher map: one polyline per leg in the plan, in the
dispatcher's view of a rider's route and in the rider's own route; null until a
road graph is loaded, never straight lines."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.auth.principals import Role
from dispatch.adapters.postgres import plans as plans_repo
from dispatch.city.loader import City
from dispatch.domain import GeoPoint
from dispatch.events import PlanUpdated
from dispatch.geo import ServiceArea
from dispatch.orders import fulfilment
from dispatch.planning.plan import Plan, PlannedStop, RiderRoute
from routing.polyline import decode_polyline
from routing.road_network import RoadGraph, haversine_m, simplify
from tests.integration.api.conftest import Credentials, services_of
from tests.integration.api.test_order_flow import HOME, PHARMACY
from tests.integration.api.test_rider_route_disclosure import _orders

LAT0, LON0, STEP = 35.893, 14.507, 0.001
START = GeoPoint(35.8962, 14.5101)


def street_grid(size: int = 14, split: int = 3) -> RoadGraph:
    """Two-way streets every ``STEP`` degrees around Valletta's test addresses,
    each street cut into ``split`` segments (shape points to contract)."""
    lat: list[float] = []
    lon: list[float] = []
    src: list[int] = []
    dst: list[int] = []

    def node(la: float, lo: float) -> int:
        lat.append(la)
        lon.append(lo)
        return len(lat) - 1

    junction = {
        (r, c): node(LAT0 + r * STEP, LON0 + c * STEP)
        for r in range(size)
        for c in range(size)
    }
    for (r, c), a in junction.items():
        for dr, dc in ((0, 1), (1, 0)):
            if (r + dr, c + dc) not in junction:
                continue
            chain = [a]
            for k in range(1, split):
                f = k / split
                chain.append(
                    node(LAT0 + (r + dr * f) * STEP, LON0 + (c + dc * f) * STEP)
                )
            chain.append(junction[(r + dr, c + dc)])
            for u, v in itertools.pairwise(chain):
                src += [u, v]
                dst += [v, u]
    la, lo = np.array(lat), np.array(lon)
    s, d = np.array(src), np.array(dst)
    length = haversine_m(la[s], lo[s], la[d], lo[d])
    return RoadGraph(la, lo, s, d, length, length / 8.0)


RAW = street_grid()


def grid_city() -> City:
    """A city whose roads are :data:`RAW`, simplified as the real one is."""
    return City(
        roads=simplify(RAW),
        pharmacies=(),
        home_lat=np.array([HOME["lat"]]),
        home_lon=np.array([HOME["lon"]]),
        service_area=ServiceArea.from_bbox(35.89, 14.50, 35.91, 14.53),
        source_sha256="test-grid",
    )


def _raw_nodes() -> set[tuple[float, float]]:
    return {
        (round(a, 5), round(b, 5))
        for a, b in zip(RAW.node_lat, RAW.node_lon, strict=True)
    }


def _planned(client: TestClient, creds: Credentials) -> tuple[str, str]:
    """Two orders assigned to the test rider and a plan: start, both pickups at
    ph-1, both deliveries."""
    services = services_of(client)
    a, b = _orders(client, creds, 2)
    with services.db.transaction() as tx:
        for order_id in (a, b):
            fulfilment.assign_order(tx, order_id, creds.rider_id, actor="test")
    now = datetime.now(UTC)
    stops = tuple(
        PlannedStop(
            oid,
            kind,
            "ph-1" if kind == "pickup" else None,
            now + timedelta(minutes=5 * i),
        )
        for i, (oid, kind) in enumerate(
            ((a, "pickup"), (b, "pickup"), (a, "delivery"), (b, "delivery"))
        )
    )
    with services.db.transaction() as tx:
        plans_repo.insert_plan(
            tx,
            Plan(
                1,
                now,
                "feasible",
                10,
                0.1,
                (RiderRoute(creds.rider_id, stops, 900, 4000, START),),
                (),
            ),
        )
    services.routes.on_event(PlanUpdated(1, 1, 2, 0, "feasible"))
    return a, b


def _check_leg(
    leg: dict[str, Any], begin: tuple[float, float], end: tuple[float, float]
) -> None:
    points = decode_polyline(leg["polyline"])
    assert points[0] == pytest.approx(begin, abs=6e-6)
    assert points[-1] == pytest.approx(end, abs=6e-6)
    if begin != end:
        assert len(points) > 3  # along the streets, not a straight line
        assert {(round(x, 5), round(y, 5)) for x, y in points[1:-1]} <= _raw_nodes()
    assert leg["distance_m"] >= haversine_m(*begin, *end) - 1


def test_plan_routes_carry_road_polylines_once_the_city_is_loaded(
    client: TestClient, creds: Credentials
) -> None:
    """Without a road graph the legs are null; with one, each leg's polyline
    starts at the route's start or previous stop and ends at its stop, through
    the grid's nodes; the dispatcher's view of the rider's route has the same."""
    a, b = _planned(client, creds)
    disp = creds(Role.dispatcher)
    plan = client.get("/plans/current", headers=disp).json()
    [route] = plan["routes"]
    assert route["legs"] is None
    assert route["start"] == {"lat": START.lat, "lon": START.lon}
    assert [s["stop_id"] for s in route["stops"]] == [
        f"{a}:pickup",
        f"{b}:pickup",
        f"{a}:delivery",
        f"{b}:delivery",
    ]

    services_of(client).city.set_city(grid_city())
    plan = client.get("/plans/current", headers=disp).json()
    [route] = plan["routes"]
    legs = route["legs"]
    assert [(leg["from_stop_id"], leg["to_stop_id"]) for leg in legs] == [
        (None, f"{a}:pickup"),
        (f"{a}:pickup", f"{b}:pickup"),
        (f"{b}:pickup", f"{a}:delivery"),
        (f"{a}:delivery", f"{b}:delivery"),
    ]
    pharmacy = (PHARMACY["lat"], PHARMACY["lon"])
    home_a = (HOME["lat"], HOME["lon"])
    home_b = (HOME["lat"] + 0.001, HOME["lon"])
    _check_leg(legs[0], (START.lat, START.lon), pharmacy)
    _check_leg(legs[1], pharmacy, pharmacy)
    assert decode_polyline(legs[1]["polyline"]) == [pytest.approx(pharmacy, abs=6e-6)]
    _check_leg(legs[2], pharmacy, home_a)
    _check_leg(legs[3], home_a, home_b)

    mine = client.get(f"/plans/current/riders/{creds.rider_id}", headers=disp).json()
    assert mine["legs"] == legs
    nobody = client.get("/plans/current/riders/nobody", headers=disp).json()
    assert nobody["legs"] == []
    assert services_of(client).city.legs.stats["legs_computed"] == 4  # cached


def test_the_riders_own_route_has_the_same_legs(
    client: TestClient, creds: Credentials
) -> None:
    """The rider's view runs through the stops it shows, from the planned start
    while its first stop is the plan's first; a picked-up order drops the leg."""
    services_of(client).city.set_city(grid_city())
    a, b = _planned(client, creds)
    disp, rider = creds(Role.dispatcher), creds(Role.rider)
    planned = client.get("/plans/current", headers=disp).json()["routes"][0]["legs"]
    view = client.get("/riders/me/route", headers=rider).json()
    assert [s["stop_id"] for s in view["stops"]] == [
        leg["to_stop_id"] for leg in planned
    ]
    assert view["legs"] == planned

    services = services_of(client)
    with services.db.transaction() as tx:
        fulfilment.mark_picked_up(
            tx, a, rider_id=creds.rider_id, position=None, actor="test"
        )
    view = client.get("/riders/me/route", headers=rider).json()
    assert view["stops"][0]["stop_id"] == f"{b}:pickup"
    # the first stop shown is no longer the plan's first: no leg into it
    assert [leg["to_stop_id"] for leg in view["legs"]] == [
        s["stop_id"] for s in view["stops"][1:]
    ]


def test_a_test_app_without_the_city_says_so(
    client: TestClient, creds: Credentials
) -> None:
    """API_CITY=none (the test default): null legs, never invented lines."""
    _planned(client, creds)
    view = client.get("/riders/me/route", headers=creds(Role.rider)).json()
    assert view["stops"]
    assert view["legs"] is None
    r = client.get("/plans/current/riders/nobody", headers=creds(Role.dispatcher))
    assert r.json()["legs"] is None
    r = client.get("/plans/current", headers=creds(Role.rider))
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
