"""Shortest paths on the simulator's road graph and positions along them.

Riders move along roads: :meth:`RoadGraph.route` gives the fastest path for a
vehicle type (scipy Dijkstra on travel time), and :meth:`RoadPath.position_at`
says where the rider is after a given time on it.
"""

from __future__ import annotations

import bisect
import itertools
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from simulator.city import CityData, FloatArray, IntArray, project_m
from simulator.errors import NoRoute
from simulator.scenario import VehicleType

__all__ = ["VEHICLE_SPEED_MPS", "RoadGraph", "RoadPath"]

#: Top speed per vehicle type (m/s); the road class may cap it lower.
VEHICLE_SPEED_MPS: dict[VehicleType, float] = {
    VehicleType.BIKE: 4.5,
    VehicleType.SCOOTER: 10.0,
    VehicleType.CAR: 12.5,
}
_TREES_KEPT = 96


@dataclass(frozen=True)
class RoadPath:
    """A path: road nodes with cumulative metres and seconds from its start."""

    nodes: tuple[int, ...]
    lat: tuple[float, ...]
    lon: tuple[float, ...]
    cum_distance_m: tuple[float, ...]
    cum_time_s: tuple[float, ...]

    @property
    def distance_m(self) -> float:
        """Length of the path."""
        return self.cum_distance_m[-1]

    @property
    def duration_s(self) -> float:
        """Travel time along the path."""
        return self.cum_time_s[-1]

    def position_at(self, elapsed_s: float) -> tuple[float, float, float]:
        """``(lat, lon, metres covered)`` after ``elapsed_s`` on the path."""
        if elapsed_s <= 0 or len(self.nodes) == 1:
            return self.lat[0], self.lon[0], 0.0
        if elapsed_s >= self.duration_s:
            return self.lat[-1], self.lon[-1], self.distance_m
        i = bisect.bisect_right(self.cum_time_s, elapsed_s) - 1
        span = self.cum_time_s[i + 1] - self.cum_time_s[i]
        f = (elapsed_s - self.cum_time_s[i]) / span if span > 0 else 1.0
        lat = self.lat[i] + f * (self.lat[i + 1] - self.lat[i])
        lon = self.lon[i] + f * (self.lon[i + 1] - self.lon[i])
        covered = self.cum_distance_m[i] + f * (
            self.cum_distance_m[i + 1] - self.cum_distance_m[i]
        )
        return lat, lon, covered


class RoadGraph:
    """Travel-time graphs per vehicle type over one :class:`CityData`."""

    def __init__(self, city: CityData) -> None:
        self.city = city
        src, dst, length, speed = _dedupe(city)
        self._length = csr_matrix((length, (src, dst)), shape=(city.node_count,) * 2)
        self._speed = speed
        self._src, self._dst, self._len = src, dst, length
        self._graphs: dict[VehicleType, csr_matrix] = {}
        self._trees: OrderedDict[tuple[VehicleType, int], IntArray] = OrderedDict()
        self._kdtree = cKDTree(project_m(city.node_lat, city.node_lon))

    def nearest_node(self, lat: float, lon: float) -> int:
        """The road node closest to a point."""
        _, node = self._kdtree.query(project_m(np.asarray([lat]), np.asarray([lon]))[0])
        return int(node)

    def route(self, source: int, target: int, vehicle: VehicleType) -> RoadPath:
        """Fastest path from ``source`` to ``target`` for ``vehicle``."""
        nodes = [target]
        if source != target:
            predecessors = self._tree(vehicle, source)
            while nodes[-1] != source:
                previous = int(predecessors[nodes[-1]])
                if previous < 0:
                    raise NoRoute(source, target)
                nodes.append(previous)
            nodes.reverse()
        return self._trace(nodes, vehicle)

    def _graph(self, vehicle: VehicleType) -> csr_matrix:
        graph = self._graphs.get(vehicle)
        if graph is None:
            speed = np.minimum(self._speed, VEHICLE_SPEED_MPS[vehicle])
            time_s = np.maximum(self._len / speed, 1e-3)
            shape = (self.city.node_count,) * 2
            graph = self._graphs[vehicle] = csr_matrix(
                (time_s, (self._src, self._dst)), shape=shape
            )
        return graph

    def _tree(self, vehicle: VehicleType, source: int) -> IntArray:
        key = (vehicle, source)
        tree = self._trees.get(key)
        if tree is None:
            _, tree = dijkstra(
                self._graph(vehicle), indices=source, return_predecessors=True
            )
            self._trees[key] = tree
            if len(self._trees) > _TREES_KEPT:
                self._trees.popitem(last=False)
        else:
            self._trees.move_to_end(key)
        return tree

    def _trace(self, nodes: list[int], vehicle: VehicleType) -> RoadPath:
        lat = self.city.node_lat[nodes]
        lon = self.city.node_lon[nodes]
        graph = self._graph(vehicle)
        steps_m = [float(self._length[a, b]) for a, b in itertools.pairwise(nodes)]
        steps_s = [float(graph[a, b]) for a, b in itertools.pairwise(nodes)]
        return RoadPath(
            nodes=tuple(nodes),
            lat=tuple(float(x) for x in lat),
            lon=tuple(float(x) for x in lon),
            cum_distance_m=tuple(np.concatenate([[0.0], np.cumsum(steps_m)]).tolist()),
            cum_time_s=tuple(np.concatenate([[0.0], np.cumsum(steps_s)]).tolist()),
        )


def _dedupe(city: CityData) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """Both directions of every edge, one (the fastest class) per node pair."""
    src = np.concatenate([city.edge_from, city.edge_to])
    dst = np.concatenate([city.edge_to, city.edge_from])
    length = np.concatenate([city.edge_length_m, city.edge_length_m])
    speed = np.concatenate([city.edge_speed_mps, city.edge_speed_mps])
    order = np.lexsort((-speed, dst, src))
    src, dst, length, speed = src[order], dst[order], length[order], speed[order]
    first = np.ones(src.size, dtype=bool)
    first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
    loops = src == dst
    keep = first & ~loops
    return src[keep], dst[keep], length[keep], speed[keep]
