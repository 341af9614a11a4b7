"""Riders drive along roads; their legs are logged and their GPS fixes plausible."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from simulator.city import CityData
from simulator.motion import RiderMotion
from simulator.roads import RoadGraph
from simulator.scenario import VehicleType

T0 = datetime(2026, 6, 15, 8, tzinfo=UTC)


@pytest.fixture(scope="module")
def roads(city: CityData) -> RoadGraph:
    """Road graphs over the session's city."""
    return RoadGraph(city)


def _rider(roads: RoadGraph) -> RiderMotion:
    start = roads.nearest_node(35.8989, 14.5146)  # Valletta
    return RiderMotion("r1", VehicleType.SCOOTER, roads, start)


def test_full_drive_is_one_leg(roads: RoadGraph) -> None:
    """Driving to Sliema and stopping on arrival logs one leg of the path's length."""
    rider = _rider(roads)
    target = roads.nearest_node(35.9125, 14.5019)  # Sliema
    arrive_at = rider.head_to(target, T0)
    assert arrive_at > T0
    length_m = rider.drive.path.distance_m if rider.drive else 0.0
    rider.stop(arrive_at + timedelta(minutes=5))
    (leg,) = rider.legs
    assert leg.distance_m == pytest.approx(length_m)
    assert leg.end_at == arrive_at
    assert rider.node == target


def test_redirect_mid_drive(roads: RoadGraph) -> None:
    """A new destination mid-way logs the part driven and restarts from the road."""
    rider = _rider(roads)
    rider.head_to(roads.nearest_node(35.9097, 14.4256), T0)  # Mosta
    full_m = rider.drive.path.distance_m if rider.drive else 0.0
    halfway = T0 + timedelta(minutes=5)
    rider.head_to(roads.nearest_node(35.8989, 14.5146), halfway)
    assert 0 < rider.legs[0].distance_m < full_m
    assert rider.drive is not None
    assert rider.drive.start_at == halfway


def test_gps_fix_is_close_and_moving(roads: RoadGraph) -> None:
    """A fix mid-drive is within a few metres of the truth, with speed and heading."""
    rider = _rider(roads)
    rider.head_to(roads.nearest_node(35.9125, 14.5019), T0)
    at = T0 + timedelta(seconds=60)
    fix = rider.gps_fix(at, random.Random(1))
    lat, lon = rider.position_at(at)
    assert abs(fix["lat"] - lat) * 111_320 < 20
    assert abs(fix["lon"] - lon) * 90_000 < 20
    assert 0 <= fix["speed_mps"] <= 10.5
    assert 0 <= fix["heading_deg"] < 360
    assert fix["at"] == at.isoformat()
    parked = _rider(roads)
    assert parked.gps_fix(T0, random.Random(1))["speed_mps"] == 0.0
