"""The bundled Malta extract: parse rules, the cached city and its road matrices."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from dispatch.city.cache import cache_path
from dispatch.city.loader import (
    DEFAULT_EXTRACT,
    EXTRACT_NAME,
    REPO_DATA,
    City,
    find_extract,
    load_city,
)
from dispatch.city.osm import is_drivable, parse_speed_kmh, way_directions
from dispatch.city.service_area import bundled_service_area, read_service_area
from dispatch.domain import GeoPoint
from dispatch.errors import InvalidInput, OutsideServiceArea
from routing.matrix import RoadNetworkProvider
from routing.paths import RoadPaths
from routing.polyline import decode_polyline, encode_polyline
from routing.road_network import haversine_m

VALLETTA = (35.8989, 14.5146)
MDINA = (35.8857, 14.4030)
VICTORIA_GOZO = (36.0443, 14.2394)
OPEN_SEA = (35.80, 14.70)


@pytest.fixture(scope="module")
def city_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("city")


@pytest.fixture(scope="module")
def city(city_dir: Path) -> City:
    return load_city(data_dir=city_dir)


@pytest.mark.parametrize(
    ("tags", "highway", "expected"),
    [
        ({}, "residential", (True, True)),
        ({"oneway": "yes"}, "residential", (True, False)),
        ({"oneway": "-1"}, "residential", (False, True)),
        ({"junction": "roundabout"}, "primary", (True, False)),
        ({}, "motorway", (True, False)),
        ({"oneway": "no"}, "motorway", (True, True)),
    ],
)
def test_one_way_rules(
    tags: dict[str, str], highway: str, expected: tuple[bool, bool]
) -> None:
    """oneway=yes/-1, roundabouts and motorways restrict the driving direction."""
    assert way_directions(tags, highway) == expected


@pytest.mark.parametrize(
    ("value", "highway", "kmh"),
    [
        ("50", "primary", 50.0),
        ("30 mph", "primary", 30 * 1.609344),
        ("MT:urban", "trunk", 50.0),
        (None, "residential", 25.0),
        ("signals", "secondary", 40.0),
    ],
)
def test_speed_from_maxspeed_or_class(
    value: str | None, highway: str, kmh: float
) -> None:
    """maxspeed in km/h, mph or a zone code wins; otherwise the class default."""
    assert parse_speed_kmh(value, highway) == pytest.approx(kmh)


@pytest.mark.parametrize(
    ("tags", "drivable"),
    [
        ({"highway": "residential"}, True),
        ({"highway": "footway"}, False),
        ({"highway": "service", "access": "private"}, False),
        ({"highway": "service", "access": "no", "motor_vehicle": "yes"}, True),
        ({"highway": "pedestrian", "area": "yes"}, False),
    ],
)
def test_drivable_roads(tags: dict[str, str], drivable: bool) -> None:
    """Only public car/scooter classes enter the graph."""
    assert is_drivable(tags) is drivable


def test_city_has_the_pharmacies_of_both_islands(city: City) -> None:
    """96 pharmacies in the extract, 81 of them on the main island."""
    assert len(city.pharmacies) == 96
    assert len(city.served_pharmacies) == 81
    assert {p.island for p in city.pharmacies} == {"malta", "gozo"}
    assert all(p.name for p in city.pharmacies)


def test_road_graph_is_one_strongly_connected_component(city: City) -> None:
    """Every node reaches every other: no matrix entry can be unreachable."""
    roads = city.roads
    n = roads.num_nodes
    adjacency = csr_matrix(
        (np.ones(roads.num_edges), (roads.edge_from, roads.edge_to)), shape=(n, n)
    )
    count, _ = connected_components(adjacency, directed=True, connection="strong")
    assert count == 1
    assert 5_000 < n < city.stats["raw_nodes"]


def test_service_area_is_the_main_island(city: City) -> None:
    """Valletta and Mdina are served; Gozo and the open sea are not."""
    lat, lon = np.array([VALLETTA, MDINA, VICTORIA_GOZO, OPEN_SEA]).T
    assert city.in_service_area(lat, lon).tolist() == [True, True, False, False]
    assert city.in_service_area(city.home_lat, city.home_lon).all()
    assert len(city.home_lat) > 10_000
    city.service_area.require(GeoPoint(*VALLETTA))
    with pytest.raises(OutsideServiceArea):
        city.service_area.require(GeoPoint(*VICTORIA_GOZO))


def test_the_shipped_service_area_is_the_citys_polygon(city: City) -> None:
    """``data/city/malta-service-area.geojson`` (enforced by default without
    loading the road graph) is the polygon the extract gives, to 6 decimals;
    regenerate it with ``python -m dispatch.city.service_area`` if this fails."""
    shipped = bundled_service_area()
    assert shipped.name == city.service_area.name
    difference = shipped.geometry.symmetric_difference(city.service_area.geometry)
    assert difference.area < 1e-4 * city.service_area.geometry.area  # rounding
    homes = np.column_stack([city.home_lat, city.home_lon])[::500]
    assert all(shipped.contains(GeoPoint(lat, lon)) for lat, lon in homes)
    assert not shipped.contains(GeoPoint(*OPEN_SEA))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not readable GeoJSON"),
        ('{"type": "Point", "coordinates": [14.5, 35.9]}', "Polygon"),
        ('{"type": "FeatureCollection", "features": []}', "one feature"),
        (
            '{"type": "Polygon", "coordinates": [[[0,0],[1,1],[1,0],[0,1],[0,0]]]}',
            "not valid",
        ),
    ],
)
def test_a_bad_service_area_file_is_refused(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "area.geojson"
    path.write_text(text)
    with pytest.raises(InvalidInput, match=message):
        read_service_area(path)


def test_second_load_comes_from_the_cache(city: City, city_dir: Path) -> None:
    """The .npz keyed by the extract digest is reused and holds the same city."""
    assert city.stats["from_cache"] == 0
    assert cache_path(city_dir, city.source_sha256).is_file()
    again = load_city(data_dir=city_dir)
    assert again.stats["from_cache"] == 1
    assert np.array_equal(again.roads.edge_time_s, city.roads.edge_time_s)
    assert np.array_equal(again.roads.via_lat, city.roads.via_lat)  # type: ignore[arg-type]
    assert np.array_equal(again.roads.via_offset, city.roads.via_offset)  # type: ignore[arg-type]
    assert [p.osm_id for p in again.pharmacies] == [p.osm_id for p in city.pharmacies]
    assert again.service_area.geometry.equals(city.service_area.geometry)


def test_contracted_streets_keep_their_shape(city: City) -> None:
    """The simplified graph keeps every contracted shape point: a path between
    two pharmacies is drawn through far more points than the junctions it
    passes, starts and ends at the pharmacies, and is no shorter than a crow."""
    roads = city.roads
    assert roads.has_vias
    assert roads.via_lat is not None
    # each edge of the connected core lies on exactly one simplified edge
    assert roads.num_edges + len(roads.via_lat) <= city.stats["raw_edges"]
    assert len(roads.via_lat) > roads.num_edges  # streets bend between junctions
    a, b = city.served_pharmacies[0], city.served_pharmacies[40]
    path = RoadPaths(roads).path((a.lat, a.lon), (b.lat, b.lon))
    assert path is not None
    assert tuple(path.points[0]) == (a.lat, a.lon)
    assert tuple(path.points[-1]) == (b.lat, b.lon)
    assert len(path.points) > 2 * len(path.nodes)
    straight = float(haversine_m(a.lat, a.lon, b.lat, b.lon))
    assert straight < path.length_m < 3 * straight
    decoded = decode_polyline(encode_polyline(map(tuple, path.points.tolist())))
    assert len(decoded) == len(path.points)


def test_corrupt_cache_is_rebuilt(city: City, tmp_path: Path) -> None:
    """A torn cache file is ignored and replaced, never trusted."""
    target = cache_path(tmp_path, city.source_sha256)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"not an npz")
    rebuilt = load_city(data_dir=tmp_path)
    assert rebuilt.stats["from_cache"] == 0
    assert rebuilt.roads.num_nodes == city.roads.num_nodes


@pytest.mark.parametrize("content", [None, b"garbage", b"truncated"])
def test_bad_extract_raises_invalid_input(
    tmp_path: Path, content: bytes | None
) -> None:
    """A missing, garbage or truncated extract gives a clear InvalidInput."""
    path = tmp_path / "bad.osm.pbf"
    if content == b"truncated":
        path.write_bytes(DEFAULT_EXTRACT.read_bytes()[:5000])
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(InvalidInput):
        load_city(path, data_dir=tmp_path)


def test_road_matrix_on_the_city_is_directed_and_not_faster_than_a_crow(
    city: City,
) -> None:
    """Real one-way streets make some trips asymmetric; none beats the straight line."""
    rng = np.random.default_rng(7)
    pick = rng.choice(len(city.home_lat), 60, replace=False)
    points = np.column_stack([city.home_lat[pick], city.home_lon[pick]])
    m = RoadNetworkProvider(city.roads).matrices(points, profiles=["car"])
    car = m.durations["car"]
    assert np.any(car != car.T)
    top_mps = float(np.max(city.roads.edge_length_m / city.roads.edge_time_s))
    lat, lon = points[:, 0], points[:, 1]
    straight = haversine_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    assert np.all(car >= np.floor(straight / top_mps))
    assert np.all(m.distances >= np.floor(straight))


def test_generated_dispatch_problem_has_the_requested_shape(city: City) -> None:
    """Seeded generator: N orders with 3 served candidate pharmacies, same twice."""
    from benchmarks.city_problem import ScenarioParams, generate

    provider = RoadNetworkProvider(city.roads)
    shape = ScenarioParams(orders=40, riders=8, pharmacies=10, seed=3)
    scenario = generate(city, provider, shape)
    problem = scenario.problem
    assert len(problem.jobs) == 40
    assert len(problem.vehicles) == 8
    assert all(len(job.pickups) == 3 for job in problem.jobs)
    assert all(job.pickups[0].location < 10 for job in problem.jobs)
    cold = [job for job in problem.jobs if job.max_transit_s is not None]
    assert cold
    assert all("cold_box" in job.skills for job in cold)
    assert all(p.island == "malta" for p in scenario.pharmacies)
    again = generate(city, provider, shape)
    assert again.problem.jobs == problem.jobs
    assert np.array_equal(again.points, scenario.points)


def test_new_orders_extend_the_matrix_without_moving_old_entries(city: City) -> None:
    """Appended orders get new indices; every old entry keeps its value."""
    from benchmarks.city_problem import ScenarioParams, add_orders, generate

    provider = RoadNetworkProvider(city.roads)
    scenario = generate(
        city, provider, ScenarioParams(orders=20, riders=4, pharmacies=6)
    )
    grown = add_orders(scenario, city, provider, 5, seed=9)
    n = scenario.points.shape[0]
    assert grown.points.shape[0] == n + 5
    assert len(grown.problem.jobs) == 25
    old = scenario.problem.durations["scooter"]
    assert np.array_equal(grown.problem.durations["scooter"][:n, :n], old)
    fresh = provider.matrices(grown.points).durations["scooter"]
    assert np.array_equal(grown.problem.durations["scooter"], fresh)


def test_source_tree_extract_is_the_default() -> None:
    """In a checkout the map is the repository's ``data/city`` extract."""
    assert DEFAULT_EXTRACT == REPO_DATA / EXTRACT_NAME
    assert DEFAULT_EXTRACT.is_file()


def test_wheel_layout_extract_is_found_without_importing_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed wheel ships the map as ``<package>/data/city``: found by a path
    look-up; the package itself is never imported."""
    package = tmp_path / "site" / "fake_sim_pkg"
    (package / "data" / "city").mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('imported')\n")
    shipped = package / "data" / "city" / EXTRACT_NAME
    shipped.write_bytes(b"pbf")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    found = find_extract(package="fake_sim_pkg", source_tree=tmp_path / "none")
    assert found == shipped
    assert "fake_sim_pkg" not in sys.modules


def test_packaged_extract_missing_falls_back_to_the_source_tree(
    tmp_path: Path,
) -> None:
    """Neither place has it: the source-tree path, which ``load_city`` reports."""
    found = find_extract(package="no_such_package_xyz", source_tree=tmp_path)
    assert found == tmp_path / EXTRACT_NAME
    with pytest.raises(InvalidInput, match="not found"):
        load_city(found, data_dir=tmp_path)
