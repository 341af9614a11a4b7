"""Road paths: contracted chains keep their shape; a path follows the real roads."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from routing.errors import InvalidProblem
from routing.paths import RoadPaths
from routing.polyline import decode_polyline, encode_polyline
from routing.road_network import RoadGraph, haversine_m, simplify
from tests.unit.routing.test_matrix import LAT0, LON0, STEP, grid_graph


def _key(lat: float, lon: float) -> tuple[float, float]:
    return (round(lat, 9), round(lon, 9))


def _raw_edges(raw: RoadGraph) -> set[tuple[tuple[float, float], tuple[float, float]]]:
    """Directed edges of ``raw`` as coordinate pairs."""
    return {
        (
            _key(raw.node_lat[a], raw.node_lon[a]),
            _key(raw.node_lat[b], raw.node_lon[b]),
        )
        for a, b in zip(raw.edge_from, raw.edge_to, strict=True)
    }


def _bent_street() -> RoadGraph:
    """Two junctions joined by a U-shaped two-way street (bend 3 blocks north),
    each junction with two dead-end stubs so it stays a junction."""
    lat = [LAT0, LAT0 + STEP, LAT0 + 2 * STEP, LAT0 + 3 * STEP]
    lon = [LON0, LON0, LON0, LON0]
    # the street: j0 -> up -> across -> down -> j1
    lat += [LAT0 + 3 * STEP, LAT0 + 3 * STEP, LAT0 + 2 * STEP, LAT0 + STEP, LAT0]
    lon += [LON0 + STEP, LON0 + 2 * STEP, LON0 + 2 * STEP, LON0 + 2 * STEP]
    lon += [LON0 + 2 * STEP]
    lat += [LAT0 - STEP, LAT0, LAT0 - STEP, LAT0]  # stubs of j0 (0) and j1 (8)
    lon += [LON0, LON0 - STEP, LON0 + 2 * STEP, LON0 + 3 * STEP]
    street = [0, 1, 2, 3, 4, 5, 6, 7, 8]
    pairs = [*itertools.pairwise(street), (0, 9), (0, 10), (8, 11), (8, 12)]
    src = [a for a, b in pairs] + [b for a, b in pairs]
    dst = [b for a, b in pairs] + [a for a, b in pairs]
    la, lo = np.array(lat), np.array(lon)
    s, d = np.array(src), np.array(dst)
    length = haversine_m(la[s], lo[s], la[d], lo[d])
    return RoadGraph(la, lo, s, d, length, length / 8.0)


def test_contracted_edges_keep_the_nodes_they_replaced() -> None:
    """Every simplified edge, read with its vias, is a chain of raw edges of the
    same total length."""
    raw = grid_graph(size=4, split=4)
    simple = simplify(raw)
    assert simple.has_vias
    assert simple.num_nodes < raw.num_nodes / 2
    raw_edges = _raw_edges(raw)
    raw_length = {
        (
            _key(raw.node_lat[a], raw.node_lon[a]),
            _key(raw.node_lat[b], raw.node_lon[b]),
        ): m
        for a, b, m in zip(raw.edge_from, raw.edge_to, raw.edge_length_m, strict=True)
    }
    for e in range(simple.num_edges):
        a, b = int(simple.edge_from[e]), int(simple.edge_to[e])
        via_lat, via_lon = simple.edge_vias(e)
        chain = [_key(simple.node_lat[a], simple.node_lon[a])]
        chain += [_key(x, y) for x, y in zip(via_lat, via_lon, strict=True)]
        chain.append(_key(simple.node_lat[b], simple.node_lon[b]))
        steps = list(itertools.pairwise(chain))
        assert all(step in raw_edges for step in steps)
        total = sum(raw_length[step] for step in steps)
        assert total == pytest.approx(simple.edge_length_m[e])


def test_a_path_starts_and_ends_at_its_points_and_follows_graph_edges() -> None:
    """Start point, then only raw nodes joined by raw edges, then the end point."""
    raw = grid_graph(size=5, split=3)
    paths = RoadPaths(simplify(raw))
    start = (LAT0 + 0.00004, LON0 - 0.00003)
    end = (LAT0 + 4 * STEP - 0.00002, LON0 + 3 * STEP + 0.00005)
    path = paths.path(start, end)
    assert path is not None
    assert tuple(path.points[0]) == start
    assert tuple(path.points[-1]) == end
    inner = [_key(a, b) for a, b in path.points[1:-1]]
    raw_nodes = {_key(a, b) for a, b in zip(raw.node_lat, raw.node_lon, strict=True)}
    assert set(inner) <= raw_nodes
    raw_edges = _raw_edges(raw)
    assert all(step in raw_edges for step in itertools.pairwise(inner))
    # as long as the raw graph's fastest path between the snapped nodes
    n = raw.num_nodes
    adjacency = csr_matrix(
        (raw.edge_time_s, (raw.edge_from, raw.edge_to)), shape=(n, n)
    )
    index = {
        k: i
        for i, k in enumerate(
            _key(a, b) for a, b in zip(raw.node_lat, raw.node_lon, strict=True)
        )
    }
    fastest = dijkstra(adjacency, directed=True, indices=index[inner[0]])
    driven = sum(
        float(
            raw.edge_time_s[(raw.edge_from == index[u]) & (raw.edge_to == index[v])][0]
        )
        for u, v in itertools.pairwise(inner)
    )
    assert driven == pytest.approx(fastest[index[inner[-1]]])


def test_a_bent_street_is_drawn_along_its_bend() -> None:
    """The simplified graph joins the two junctions by one edge; the path still
    goes round the bend, not straight across."""
    raw = _bent_street()
    simple = simplify(raw)
    assert simple.num_nodes < raw.num_nodes  # the bend was contracted
    path = RoadPaths(simple).path((LAT0, LON0), (LAT0, LON0 + 2 * STEP))
    assert path is not None
    assert (LAT0 + 3 * STEP, LON0 + STEP) in {tuple(p) for p in path.points}
    street_m = float(np.sum(raw.edge_length_m[:8]))  # the first 8 edges: the street
    assert path.length_m == pytest.approx(street_m)


def test_one_way_streets_make_paths_directional() -> None:
    """Row 2 is one-way eastbound: west along it takes another street."""
    paths = RoadPaths(simplify(grid_graph(size=5, split=2)))
    west_end, east_end = (LAT0 + 2 * STEP, LON0), (LAT0 + 2 * STEP, LON0 + 4 * STEP)
    east = paths.path(west_end, east_end)
    west = paths.path(east_end, west_end)
    assert east is not None
    assert west is not None
    assert all(abs(lat - west_end[0]) < 1e-9 for lat, _ in east.points)
    assert any(abs(lat - west_end[0]) > 1e-9 for lat, _ in west.points)


def test_many_legs_in_one_call_match_single_calls() -> None:
    """Legs sharing a start are searched once; results keep the input order."""
    paths = RoadPaths(simplify(grid_graph(size=5, split=3)))
    a, b, c = (LAT0, LON0), (LAT0 + 4 * STEP, LON0 + 4 * STEP), (LAT0, LON0 + 4 * STEP)
    together = paths.paths([(a, b), (c, a), (a, c)])
    alone = [paths.path(a, b), paths.path(c, a), paths.path(a, c)]
    for x, y in zip(together, alone, strict=True):
        assert x is not None
        assert y is not None
        assert np.array_equal(x.points, y.points)


def test_an_unreachable_end_has_no_path() -> None:
    """Two nodes joined one way only: there is no way back."""
    graph = RoadGraph(
        np.array([LAT0, LAT0 + STEP]),
        np.array([LON0, LON0]),
        np.array([0]),
        np.array([1]),
        np.array([111.0]),
        np.array([10.0]),
    )
    paths = RoadPaths(graph)
    assert paths.path((LAT0, LON0), (LAT0 + STEP, LON0)) is not None
    assert paths.path((LAT0 + STEP, LON0), (LAT0, LON0)) is None


def test_same_node_and_identical_points() -> None:
    """Both ends near one node: start, node, end; a point to itself: that point."""
    paths = RoadPaths(simplify(grid_graph(size=3, split=1)))
    centre = (LAT0 + STEP, LON0 + STEP)  # a junction (corners are contracted)
    near = paths.path(
        (centre[0] + 0.00001, centre[1]), (centre[0], centre[1] + 0.00001)
    )
    assert near is not None
    assert len(near.points) == 3
    assert tuple(near.points[1]) == centre
    shop = (centre[0] + 0.0002, centre[1] + 0.0001)  # not on a node
    twice = paths.path(shop, shop)
    assert twice is not None
    assert twice.points.tolist() == [list(shop)]
    same = paths.path(centre, centre)
    assert same is not None
    assert len(same.points) == 1
    assert same.length_m == 0


def test_a_path_encodes_to_a_polyline_through_its_points() -> None:
    """The polyline decodes to the path's points at five decimals."""
    path = RoadPaths(simplify(grid_graph(size=4, split=3))).path(
        (LAT0, LON0), (LAT0 + 3 * STEP, LON0 + 3 * STEP)
    )
    assert path is not None
    decoded = np.array(decode_polyline(encode_polyline(map(tuple, path.points))))
    assert np.allclose(decoded, path.points, atol=0.000005 + 1e-12)


def test_via_arrays_are_validated() -> None:
    """All three or none; offsets rising from 0 to the number of points."""
    g = grid_graph(size=2, split=1)
    base = dict(g.to_arrays())
    m = g.num_edges
    with pytest.raises(InvalidProblem):
        RoadGraph(**base, via_offset=np.zeros(m + 1, dtype=np.int64))  # type: ignore[arg-type]
    with pytest.raises(InvalidProblem):
        RoadGraph(
            **base,  # type: ignore[arg-type]
            via_offset=np.array([0, 2] + [1] * (m - 1)),
            via_lat=np.array([LAT0]),
            via_lon=np.array([LON0]),
        )
    ok = RoadGraph(
        **base,  # type: ignore[arg-type]
        via_offset=np.array([0] + [1] * m),
        via_lat=np.array([LAT0]),
        via_lon=np.array([LON0]),
    )
    assert ok.edge_vias(0)[0].tolist() == [LAT0]
    assert ok.edge_vias(1)[0].tolist() == []
