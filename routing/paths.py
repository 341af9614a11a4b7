"""The roads driven between two points: shortest paths rebuilt as coordinates.

:class:`RoadPaths` snaps both ends to their nearest graph nodes (as
:class:`~routing.matrix.RoadNetworkProvider` does), finds the fastest path with
the same lexicographic (time, distance) weights, and returns the path's shape:
the start point, every node and via point of every edge driven (a contracted
chain's vias restore the street's real bends), the end point. One SciPy Dijkstra
call (with predecessors) per distinct start node. Pure: arrays in, arrays out.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from routing.errors import InvalidProblem
from routing.matrix import validate_points
from routing.road_network import EARTH_RADIUS_M, RoadGraph, haversine_m

__all__ = ["RoadPath", "RoadPaths"]

LatLon = tuple[float, float]


@dataclass(frozen=True, slots=True)
class RoadPath:
    """One path: its shape from start to end, the graph nodes it passes, its length."""

    points: npt.NDArray[np.float64]
    """[k, 2] (lat, lon): the start point, the road's shape, the end point."""
    nodes: tuple[int, ...]
    """Graph nodes driven through, first (the start's snap) to last."""
    length_m: float
    """Length of the shape (great-circle segments)."""


class RoadPaths:
    """Shortest road paths on ``graph`` between arbitrary points."""

    _TIME_UNITS_PER_S = 10
    _SCALE = 10_000_000.0  # as RoadNetworkProvider: time units * scale + metres
    # first search bound: straight distance x detour at a slow car speed, + slack
    _DETOUR = 2.0
    _SLOW_MPS = 6.0
    _SLACK_S = 60.0

    def __init__(self, graph: RoadGraph) -> None:
        if graph.num_nodes == 0:
            raise InvalidProblem("road_graph", "has no nodes")
        self._graph = graph
        n = graph.num_nodes
        units = np.maximum(np.rint(graph.edge_time_s * self._TIME_UNITS_PER_S), 1)
        weight = units * self._SCALE + np.rint(graph.edge_length_m)
        # keep the lightest of parallel edges (a CSR build would add them up)
        order = np.lexsort((weight, graph.edge_to, graph.edge_from))
        pairs = np.stack([graph.edge_from[order], graph.edge_to[order]])
        first = np.ones(order.shape[0], dtype=bool)
        first[1:] = np.any(pairs[:, 1:] != pairs[:, :-1], axis=0)
        chosen = order[first]
        src, dst = graph.edge_from[chosen], graph.edge_to[chosen]
        self._adjacency = csr_matrix((weight[chosen], (src, dst)), shape=(n, n))
        self._edge_of: dict[tuple[int, int], int] = dict(
            zip(
                zip(src.tolist(), dst.tolist(), strict=True),
                chosen.tolist(),
                strict=True,
            )
        )
        self._lat0 = float(np.mean(graph.node_lat))
        self._tree = cKDTree(self._project(graph.node_lat, graph.node_lon))

    @property
    def graph(self) -> RoadGraph:
        """The graph searched."""
        return self._graph

    def _project(
        self, lat: npt.ArrayLike, lon: npt.ArrayLike
    ) -> npt.NDArray[np.float64]:
        k = math.radians(1) * EARTH_RADIUS_M
        x = np.asarray(lon) * k * math.cos(math.radians(self._lat0))
        return np.column_stack([x, np.asarray(lat) * k])

    def snap(self, points: Sequence[LatLon]) -> npt.NDArray[np.int64]:
        """The nearest graph node of each point."""
        coords = validate_points(points)
        _, nodes = self._tree.query(self._project(coords[:, 0], coords[:, 1]))
        return np.asarray(nodes, dtype=np.int64)

    def path(self, start: LatLon, end: LatLon) -> RoadPath | None:
        """The fastest path from ``start`` to ``end``; None if the graph has none."""
        return self.paths([(start, end)])[0]

    def paths(self, legs: Sequence[tuple[LatLon, LatLon]]) -> list[RoadPath | None]:
        """The path of each (start, end) pair, in order (None: unreachable).

        One search per distinct start node, bounded first by a generous travel
        time for the straight distance (a last-mile leg explores a neighbourhood,
        not the whole island), then unbounded for any end it did not reach.
        """
        if not legs:
            return []
        nodes = self.snap([p for leg in legs for p in leg]).reshape(-1, 2)
        by_source: dict[int, list[int]] = {}
        for i, s in enumerate(nodes[:, 0].tolist()):
            by_source.setdefault(s, []).append(i)
        g = self._graph
        results: list[RoadPath | None] = [None] * len(legs)
        for source, members in by_source.items():
            targets = nodes[members, 1]
            straight = haversine_m(
                g.node_lat[source],
                g.node_lon[source],
                g.node_lat[targets],
                g.node_lon[targets],
            )
            bound_s = float(np.max(straight)) * self._DETOUR / self._SLOW_MPS
            limit = (bound_s + self._SLACK_S) * self._TIME_UNITS_PER_S * self._SCALE
            predecessors = self._search(source, limit)
            if any(predecessors[t] < 0 and t != source for t in targets.tolist()):
                predecessors = self._search(source, np.inf)
            for i in members:
                chain = _walk_back(predecessors, source, int(nodes[i, 1]))
                if chain is not None:
                    results[i] = self._shape(legs[i][0], legs[i][1], chain)
        return results

    def _search(self, source: int, limit: float) -> npt.NDArray[np.int32]:
        _, predecessors = dijkstra(
            self._adjacency,
            directed=True,
            indices=source,
            return_predecessors=True,
            limit=limit,
        )
        return np.asarray(predecessors)

    def _shape(self, start: LatLon, end: LatLon, chain: list[int]) -> RoadPath:
        if start == end:  # two stops at one place: nothing to drive
            return RoadPath(np.array([start], dtype=np.float64), (chain[0],), 0.0)
        g = self._graph
        lat: list[float] = [start[0], float(g.node_lat[chain[0]])]
        lon: list[float] = [start[1], float(g.node_lon[chain[0]])]
        for a, b in itertools.pairwise(chain):
            edge = self._edge_of[(a, b)]
            via_lat, via_lon = g.edge_vias(edge)
            lat.extend(via_lat.tolist())
            lon.extend(via_lon.tolist())
            lat.append(float(g.node_lat[b]))
            lon.append(float(g.node_lon[b]))
        lat.append(end[0])
        lon.append(end[1])
        points = _without_repeats(np.column_stack([lat, lon]))
        steps = haversine_m(
            points[:-1, 0], points[:-1, 1], points[1:, 0], points[1:, 1]
        )
        return RoadPath(points, tuple(chain), float(np.sum(steps)))


def _walk_back(
    predecessors: npt.NDArray[np.int32], source: int, target: int
) -> list[int] | None:
    """Nodes from ``source`` to ``target`` along a predecessor row."""
    chain = [target]
    node = target
    while node != source:
        node = int(predecessors[node])
        if node < 0:  # -9999: unreachable
            return None
        chain.append(node)
    chain.reverse()
    return chain


def _without_repeats(points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Drop points equal to the one before (a stop exactly on its node)."""
    if len(points) < 2:
        return points
    keep = np.ones(len(points), dtype=bool)
    keep[1:] = np.any(points[1:] != points[:-1], axis=1)
    return points[keep]
