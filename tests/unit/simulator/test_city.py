"""The simulator's own map: main-island roads, real pharmacies, riders on roads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulator.city import CityData, haversine_m, load_city
from simulator.errors import CityDataError, NoRoute
from simulator.roads import RoadGraph
from simulator.scenario import VehicleType

VALLETTA = (35.8989, 14.5146)
MOSTA = (35.9097, 14.4256)


@pytest.fixture
def cache_dir(data_dir: Path) -> Path:
    """The session's city cache folder."""
    return data_dir / "city"


@pytest.fixture(scope="module")
def roads(city: CityData) -> RoadGraph:
    """Travel-time graphs over the city."""
    return RoadGraph(city)


def test_main_island_only(city: CityData) -> None:
    """Gozo and Comino (north of 35.99 N, no road link) are left out."""
    assert city.node_lat.max() < 36.0
    assert city.node_lat.min() > 35.78
    assert 40_000 < city.node_count < 120_000


def test_real_pharmacies_of_the_main_island(city: CityData) -> None:
    """The extract has 81 main-island pharmacies, each snapped close to a road."""
    assert len(city.pharmacies) == 81
    assert len({p.osm_ref for p in city.pharmacies}) == 81
    for pharmacy in city.pharmacies:
        lat, lon = city.node_lat[pharmacy.node], city.node_lon[pharmacy.node]
        gap = haversine_m(np.array([pharmacy.lat]), np.array([pharmacy.lon]), lat, lon)
        assert gap[0] < 300
    assert "Brown's Pharmacy" in {p.name for p in city.pharmacies}


def test_delivery_points_are_road_nodes(city: CityData) -> None:
    """Delivery points are thousands of distinct residential-street nodes."""
    assert city.delivery_nodes.size > 10_000
    assert np.unique(city.delivery_nodes).size == city.delivery_nodes.size
    assert city.delivery_nodes.max() < city.node_count


def test_cache_round_trips(city: CityData, cache_dir: Path) -> None:
    """The .npz cache is written and reads back the same data."""
    (cached_file,) = cache_dir.glob("*.npz")
    again = load_city(cache_dir=cache_dir)
    assert again.pharmacies == city.pharmacies
    assert np.array_equal(again.edge_from, city.edge_from)
    assert cached_file.stat().st_size > 100_000


def test_corrupt_cache_is_rebuilt(
    city: CityData, cache_dir: Path, tmp_path: Path
) -> None:
    """A damaged cache file is ignored and the extract parsed again."""
    (cached_file,) = cache_dir.glob("*.npz")
    (tmp_path / cached_file.name).write_bytes(b"not a zip")
    assert load_city(cache_dir=tmp_path).node_count == city.node_count


def test_missing_extract_is_a_clear_error(tmp_path: Path) -> None:
    """A missing OSM file raises CityDataError."""
    with pytest.raises(CityDataError, match="cannot read OSM extract"):
        load_city(tmp_path / "none.osm.pbf")


def test_road_route_is_longer_than_the_crow_flies(roads: RoadGraph) -> None:
    """Valletta to Mosta by road is 1.1-1.8x the straight line, and a car is faster."""
    a, b = roads.nearest_node(*VALLETTA), roads.nearest_node(*MOSTA)
    car = roads.route(a, b, VehicleType.CAR)
    bike = roads.route(a, b, VehicleType.BIKE)
    straight = haversine_m(
        np.array([VALLETTA[0]]),
        np.array([VALLETTA[1]]),
        np.array([MOSTA[0]]),
        np.array([MOSTA[1]]),
    )[0]
    assert 1.1 * straight < car.distance_m < 1.8 * straight
    assert car.duration_s < bike.duration_s
    assert car.nodes[0] == a
    assert car.nodes[-1] == b


def test_positions_move_along_the_path(roads: RoadGraph) -> None:
    """Halfway in time the rider is between the ends, and covered distance grows."""
    a, b = roads.nearest_node(*VALLETTA), roads.nearest_node(*MOSTA)
    path = roads.route(a, b, VehicleType.SCOOTER)
    start = path.position_at(0)
    middle = path.position_at(path.duration_s / 2)
    end = path.position_at(path.duration_s + 60)
    assert start[2] == 0
    assert end[2] == pytest.approx(path.distance_m)
    assert 0 < middle[2] < path.distance_m
    assert (
        min(VALLETTA[1], MOSTA[1]) - 0.02
        < middle[1]
        < max(VALLETTA[1], MOSTA[1]) + 0.02
    )


def test_same_node_route_is_empty(roads: RoadGraph) -> None:
    """A route to where the rider already is has no length."""
    node = roads.nearest_node(*VALLETTA)
    path = roads.route(node, node, VehicleType.BIKE)
    assert path.distance_m == 0
    assert path.position_at(10)[2] == 0


def test_unconnected_nodes_raise_no_route(city: CityData) -> None:
    """Nodes with no road between them raise NoRoute (tiny two-island graph)."""
    tiny = CityData(
        node_lat=np.array([35.9, 35.901, 35.95, 35.951]),
        node_lon=np.array([14.5, 14.5, 14.4, 14.4]),
        edge_from=np.array([0, 2]),
        edge_to=np.array([1, 3]),
        edge_length_m=np.array([111.0, 111.0]),
        edge_speed_mps=np.array([10.0, 10.0]),
        pharmacies=(),
        delivery_nodes=np.array([1, 3]),
    )
    with pytest.raises(NoRoute):
        RoadGraph(tiny).route(0, 3, VehicleType.CAR)
