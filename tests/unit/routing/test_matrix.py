"""Matrix providers: haversine and road network (directed, snapped, cached)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from routing.errors import InvalidParams, InvalidProblem
from routing.matrix import (
    DEFAULT_PROFILES,
    HaversineProvider,
    RoadNetworkProvider,
    VehicleProfile,
    validate_points,
)
from routing.road_network import (
    EARTH_RADIUS_M,
    RoadGraph,
    haversine_m,
    largest_strongly_connected,
    simplify,
)

LAT0, LON0, STEP = 35.90, 14.45, 0.001


def grid_graph(
    size: int = 5, *, one_way_row: int | None = 2, split: int = 3
) -> RoadGraph:
    """A ``size`` x ``size`` street grid; each street cut into ``split`` segments.

    Row ``one_way_row`` is one-way eastbound; speeds vary by row so the fastest
    path is not the shortest one.
    """
    lat: list[float] = []
    lon: list[float] = []
    src: list[int] = []
    dst: list[int] = []
    speed: list[float] = []

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
            b = junction[(r + dr, c + dc)]
            chain = [a]
            for k in range(1, split):
                f = k / split
                chain.append(
                    node(LAT0 + (r + dr * f) * STEP, LON0 + (c + dc * f) * STEP)
                )
            chain.append(b)
            mps = 5.0 + 3.0 * r
            for u, v in itertools.pairwise(chain):
                src.append(u)
                dst.append(v)
                speed.append(mps)
                if not (dr == 0 and r == one_way_row):
                    src.append(v)
                    dst.append(u)
                    speed.append(mps)
    la, lo = np.array(lat), np.array(lon)
    s, d = np.array(src), np.array(dst)
    length = haversine_m(la[s], lo[s], la[d], lo[d])
    return RoadGraph(la, lo, s, d, length, length / np.array(speed))


def all_pairs_s(graph: RoadGraph) -> np.ndarray:
    n = graph.num_nodes
    adjacency = csr_matrix(
        (graph.edge_time_s, (graph.edge_from, graph.edge_to)), shape=(n, n)
    )
    return np.asarray(dijkstra(adjacency, directed=True))


def test_haversine_known_distances() -> None:
    """One degree of latitude is R*pi/180; Valletta-Mdina is about 10.1 km."""
    assert haversine_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(
        EARTH_RADIUS_M * math.pi / 180
    )
    assert haversine_m(0.0, 0.0, 0.0, 1.0) == pytest.approx(111_195, rel=1e-4)
    assert haversine_m(35.8989, 14.5146, 35.8857, 14.4030) == pytest.approx(
        10_160, rel=0.01
    )


def test_haversine_provider_scales_by_detour_and_speed() -> None:
    """Durations are ceil(distance x detour / speed) and symmetric."""
    provider = HaversineProvider(
        {"bike": VehicleProfile(speed_mps=5.0, detour_factor=1.5)}
    )
    points = [(LAT0, LON0), (LAT0 + 0.01, LON0), (LAT0, LON0 + 0.02)]
    m = provider.matrices(points)
    straight = float(haversine_m(LAT0, LON0, LAT0 + 0.01, LON0))
    assert m.durations["bike"][0, 1] == math.ceil(straight * 1.5 / 5.0)
    assert m.distances[0, 1] == round(straight * 1.5)
    assert np.array_equal(m.durations["bike"], m.durations["bike"].T)
    assert np.all(np.diag(m.durations["bike"]) == 0)


@pytest.mark.parametrize(
    "points",
    [
        [(LAT0, LON0), (math.nan, LON0)],
        [(LAT0, LON0), (95.0, LON0)],
        [(LAT0, LON0, 1.0)],
        [("a", "b")],
    ],
)
def test_bad_points_are_rejected(points: list[tuple[object, ...]]) -> None:
    """NaN, out-of-range or malformed coordinates raise InvalidProblem."""
    with pytest.raises(InvalidProblem):
        validate_points(points)  # type: ignore[arg-type]
    with pytest.raises(InvalidProblem):
        HaversineProvider().matrices(points)  # type: ignore[arg-type]


def test_unknown_profile_is_rejected() -> None:
    """Asking for a profile the provider does not know names the known ones."""
    with pytest.raises(InvalidProblem, match="bike"):
        HaversineProvider().matrices([(LAT0, LON0)], profiles=["tractor"])
    with pytest.raises(InvalidProblem):
        RoadNetworkProvider(grid_graph()).matrices([(LAT0, LON0)], profiles=["tractor"])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"speed_mps": 0.0},
        {"speed_mps": math.nan},
        {"speed_mps": 5.0, "detour_factor": 0.9},
        {"speed_mps": 5.0, "road_multiplier": -1.0},
    ],
)
def test_bad_profile_params_are_rejected(kwargs: dict[str, float]) -> None:
    """Profiles validate speed, detour factor and multiplier on construction."""
    with pytest.raises(InvalidParams):
        VehicleProfile(**kwargs)


def test_simplify_keeps_junction_to_junction_times() -> None:
    """Chain contraction removes shape points without changing any shortest time."""
    raw = grid_graph(size=5, split=4)
    simple = simplify(raw)
    assert simple.num_nodes < raw.num_nodes / 2
    raw_times = all_pairs_s(raw)
    simple_times = all_pairs_s(simple)
    raw_index = {
        (round(a, 7), round(b, 7)): i
        for i, (a, b) in enumerate(zip(raw.node_lat, raw.node_lon, strict=True))
    }
    kept = [
        raw_index[(round(a, 7), round(b, 7))]
        for a, b in zip(simple.node_lat, simple.node_lon, strict=True)
    ]
    assert np.allclose(simple_times, raw_times[np.ix_(kept, kept)])


def test_largest_component_drops_one_way_dead_ends() -> None:
    """A node that can be entered but never left is not part of the graph used."""
    base = grid_graph(size=3)
    trap_lat = np.append(base.node_lat, LAT0 - STEP)
    trap_lon = np.append(base.node_lon, LON0)
    trap = RoadGraph(
        trap_lat,
        trap_lon,
        np.append(base.edge_from, 0),
        np.append(base.edge_to, base.num_nodes),
        np.append(base.edge_length_m, 111.0),
        np.append(base.edge_time_s, 20.0),
    )
    assert largest_strongly_connected(trap).num_nodes == base.num_nodes


def test_road_graph_rejects_bad_arrays() -> None:
    """NaN coordinates, dangling edges and non-positive times are refused."""
    g = grid_graph(size=2, split=1)
    with pytest.raises(InvalidProblem):
        RoadGraph(
            np.append(g.node_lat[:-1], np.nan),
            g.node_lon,
            g.edge_from,
            g.edge_to,
            g.edge_length_m,
            g.edge_time_s,
        )
    with pytest.raises(InvalidProblem):
        RoadGraph(
            g.node_lat,
            g.node_lon,
            g.edge_from + 100,
            g.edge_to,
            g.edge_length_m,
            g.edge_time_s,
        )
    with pytest.raises(InvalidProblem):
        RoadGraph(
            g.node_lat,
            g.node_lon,
            g.edge_from,
            g.edge_to,
            g.edge_length_m,
            g.edge_time_s * 0,
        )


def points_on_grid() -> list[tuple[float, float]]:
    return [
        (LAT0 + r * STEP + 0.00005, LON0 + c * STEP - 0.00004)
        for r in range(5)
        for c in range(5)
    ]


def test_road_times_are_never_below_straight_line_at_top_speed() -> None:
    """No matrix entry beats the straight line driven at the fastest edge speed."""
    graph = grid_graph()
    provider = RoadNetworkProvider(graph, {"car": VehicleProfile(speed_mps=8.0)})
    points = np.array(points_on_grid())
    m = provider.matrices(points)
    top_mps = float(np.max(graph.edge_length_m / graph.edge_time_s))
    straight = haversine_m(
        points[:, None, 0], points[:, None, 1], points[None, :, 0], points[None, :, 1]
    )
    assert np.all(m.durations["car"] >= np.floor(straight / max(top_mps, 8.0)))
    assert np.all(m.distances >= np.floor(straight))


def test_one_way_street_makes_the_matrix_asymmetric() -> None:
    """Along the one-way row, going west takes a detour; going east does not."""
    provider = RoadNetworkProvider(
        grid_graph(one_way_row=2), {"car": VehicleProfile(speed_mps=8.0)}
    )
    west, east = (LAT0 + 2 * STEP, LON0), (LAT0 + 2 * STEP, LON0 + 4 * STEP)
    m = provider.matrices([west, east])
    assert m.durations["car"][1, 0] > m.durations["car"][0, 1]
    two_way = RoadNetworkProvider(
        grid_graph(one_way_row=None), {"car": VehicleProfile(speed_mps=8.0)}
    )
    sym = two_way.matrices([west, east]).durations["car"]
    assert sym[0, 1] == sym[1, 0]


def test_triangle_inequality_holds_up_to_rounding() -> None:
    """d(i,k) <= d(i,j) + d(j,k) + 2 s (integer rounding of access legs)."""
    provider = RoadNetworkProvider(grid_graph(), DEFAULT_PROFILES)
    for matrix in provider.matrices(points_on_grid()).durations.values():
        best_via = np.min(matrix[:, :, None] + matrix[None, :, :], axis=1)
        assert np.all(matrix <= best_via + 2)


def test_profiles_scale_road_time() -> None:
    """A slower profile (bigger road multiplier) never gets a shorter trip."""
    provider = RoadNetworkProvider(grid_graph(), DEFAULT_PROFILES)
    m = provider.matrices(points_on_grid())
    assert np.all(m.durations["bike"] >= m.durations["car"])
    assert np.any(m.durations["bike"] > m.durations["car"])


def test_repeated_sources_are_served_from_the_cache() -> None:
    """A source seen twice is cached; the third request computes no new row for it."""
    provider = RoadNetworkProvider(grid_graph(), DEFAULT_PROFILES, cache_rows=8)
    pharmacy = [(LAT0 + 0.0001, LON0 + 0.0001)]
    first = provider.matrices([*pharmacy, (LAT0 + 4 * STEP, LON0)])
    provider.matrices([*pharmacy, (LAT0 + 3 * STEP, LON0)])
    computed = provider.stats["rows_computed"]
    third = provider.matrices([*pharmacy, (LAT0 + 4 * STEP, LON0)])
    assert provider.stats["rows_computed"] == computed + 1
    assert provider.stats["rows_from_cache"] >= 1
    assert np.array_equal(first.durations["car"], third.durations["car"])


def test_extend_equals_a_full_rebuild() -> None:
    """Growing a matrix by new points gives exactly the matrices built from scratch."""
    provider = RoadNetworkProvider(grid_graph(), DEFAULT_PROFILES)
    points = points_on_grid()
    old, new = points[:17], points[17:]
    grown = provider.extend(provider.matrices(old), old, new)
    full = RoadNetworkProvider(grid_graph(), DEFAULT_PROFILES).matrices(points)
    assert np.array_equal(grown.distances, full.distances)
    for name, matrix in full.durations.items():
        assert np.array_equal(grown.durations[name], matrix)
    straight = HaversineProvider()
    assert np.array_equal(
        straight.extend(straight.matrices(old), old, new).distances,
        straight.matrices(points).distances,
    )


def test_extend_rejects_a_base_of_the_wrong_size() -> None:
    """The base must have been built for exactly the old points."""
    provider = RoadNetworkProvider(grid_graph(), DEFAULT_PROFILES)
    points = points_on_grid()
    with pytest.raises(InvalidProblem):
        provider.extend(provider.matrices(points[:3]), points[:4], points[4:6])


def test_preloaded_sources_are_cached_at_once() -> None:
    """Preloading pharmacies means their rows are never computed again."""
    provider = RoadNetworkProvider(grid_graph(), DEFAULT_PROFILES, cache_rows=8)
    pharmacies = points_on_grid()[:3]
    provider.preload(pharmacies)
    computed = provider.stats["rows_computed"]
    provider.matrices(pharmacies)
    assert provider.stats["rows_computed"] == computed
