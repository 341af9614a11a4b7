"""Travel-time and distance matrices from (lat, lon) points, per vehicle profile.

Two providers behind one Protocol: :class:`HaversineProvider` (great circle x detour
factor / profile speed) and :class:`RoadNetworkProvider` (shortest paths on a
directed :class:`~routing.road_network.RoadGraph`). Both return directed integer
matrices (row = from, column = to): seconds per profile and metres. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from routing.errors import InvalidParams, InvalidProblem
from routing.road_network import RoadGraph, haversine_m

IntMatrix = npt.NDArray[np.int64]
Points = Sequence[tuple[float, float]] | npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class VehicleProfile:
    """How one vehicle type moves.

    ``speed_mps`` and ``detour_factor`` turn a straight line into a trip (haversine
    provider, and the short leg from a point to its road node); ``road_multiplier``
    scales the car free-flow time of the road network (1.0 = as fast as a car).
    """

    speed_mps: float
    detour_factor: float = 1.3
    road_multiplier: float = 1.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.speed_mps) or self.speed_mps <= 0:
            raise InvalidParams("profile.speed_mps", "must be a positive speed")
        if not math.isfinite(self.detour_factor) or self.detour_factor < 1:
            raise InvalidParams("profile.detour_factor", "must be >= 1")
        if not math.isfinite(self.road_multiplier) or self.road_multiplier <= 0:
            raise InvalidParams("profile.road_multiplier", "must be positive")


DEFAULT_PROFILES: Mapping[str, VehicleProfile] = {
    "bike": VehicleProfile(speed_mps=4.5, detour_factor=1.3, road_multiplier=2.2),
    "scooter": VehicleProfile(speed_mps=7.0, detour_factor=1.3, road_multiplier=1.15),
    "car": VehicleProfile(speed_mps=8.0, detour_factor=1.35, road_multiplier=1.0),
}
"""Urban averages: bike 16 km/h, scooter 25 km/h, car 29 km/h door to door."""


@dataclass(frozen=True, eq=False)
class TravelMatrices:
    """Directed integer matrices for one list of points."""

    durations: Mapping[str, IntMatrix]
    """Profile name -> [n, n] seconds."""
    distances: IntMatrix
    """[n, n] metres (the same for every profile)."""


class MatrixProvider(Protocol):
    """Turns points into travel matrices for the requested profiles."""

    def matrices(
        self, points: Points, profiles: Collection[str] | None = None
    ) -> TravelMatrices:
        """Matrices for ``points`` ((lat, lon) degrees); all profiles if ``None``."""
        ...

    def extend(
        self, base: TravelMatrices, points: Points, new_points: Points
    ) -> TravelMatrices:
        """``base`` for ``points`` grown by ``new_points`` (same profiles)."""
        ...


def validate_points(points: Points) -> npt.NDArray[np.float64]:
    """Points as an [n, 2] float array; NaN or out-of-range coordinates raise."""
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidProblem("points", f"not numeric (lat, lon) pairs: {exc}") from exc
    if array.ndim != 2 or array.shape[1] != 2:
        raise InvalidProblem("points", f"must have shape [n, 2], got {array.shape}")
    bad = ~np.isfinite(array).all(axis=1)
    bad |= (np.abs(array[:, 0]) > 90) | (np.abs(array[:, 1]) > 180)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InvalidProblem(
            f"points[{first}]", f"invalid coordinate {tuple(array[first])}"
        )
    return array


def _select_profiles(
    known: Mapping[str, VehicleProfile], wanted: Collection[str] | None
) -> dict[str, VehicleProfile]:
    names = list(known) if wanted is None else list(wanted)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise InvalidProblem(
            "profiles", f"unknown profile(s) {unknown}; known: {sorted(known)}"
        )
    return {name: known[name] for name in names}


def _ceil_int(values: npt.NDArray[np.float64]) -> IntMatrix:
    # Round up (minus float noise): a matrix entry never undercuts the real trip.
    return np.ceil(values - 1e-9).astype(np.int64)


class HaversineProvider:
    """Great-circle distance x detour factor, divided by the profile speed."""

    def __init__(self, profiles: Mapping[str, VehicleProfile] = DEFAULT_PROFILES):
        self._profiles = dict(profiles)

    def matrices(
        self, points: Points, profiles: Collection[str] | None = None
    ) -> TravelMatrices:
        """Symmetric matrices; distances use the largest detour factor asked for."""
        chosen = _select_profiles(self._profiles, profiles)
        coords = validate_points(points)
        lat, lon = coords[:, 0], coords[:, 1]
        straight = haversine_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
        durations = {
            name: _ceil_int(straight * p.detour_factor / p.speed_mps)
            for name, p in chosen.items()
        }
        detour = max((p.detour_factor for p in chosen.values()), default=1.0)
        return TravelMatrices(durations, np.rint(straight * detour).astype(np.int64))

    def extend(
        self, base: TravelMatrices, points: Points, new_points: Points
    ) -> TravelMatrices:
        """Recomputes everything (cheap for straight lines)."""
        both = np.vstack([validate_points(points), validate_points(new_points)])
        return self.matrices(both, list(base.durations))


@dataclass(frozen=True, slots=True)
class _Side:
    """Rows or columns of a matrix block: points, their nodes, gaps, global index."""

    coords: npt.NDArray[np.float64]
    nodes: npt.NDArray[np.int64]
    gap_m: npt.NDArray[np.float64]
    index: npt.NDArray[np.int64]


def _grow(base: IntMatrix, rows: IntMatrix, cols: IntMatrix) -> IntMatrix:
    """[[base, cols], rows]: ``rows`` spans all columns, ``cols`` the old rows."""
    return np.vstack([np.hstack([base, cols]), rows]).astype(np.int64)


class RoadNetworkProvider:
    """Shortest paths (by time) on a directed road graph, one Dijkstra call per batch.

    Points snap to the nearest graph node (KD-tree on a local metric projection);
    the straight leg between a point and its node is added at the profile's speed.
    Rows of frequently requested sources (seen at least twice, e.g. pharmacies)
    are kept in an LRU cache keyed by graph node.
    """

    _TIME_UNITS_PER_S = 10  # path times are summed in exact tenths of a second
    _SCALE = 10_000_000.0  # edge weight = time units * _SCALE + metres (exact)
    _BATCH = 128

    def __init__(
        self,
        graph: RoadGraph,
        profiles: Mapping[str, VehicleProfile] = DEFAULT_PROFILES,
        *,
        cache_rows: int = 256,
    ) -> None:
        if cache_rows < 0:
            raise InvalidParams("cache_rows", "must be >= 0")
        if graph.num_nodes == 0:
            raise InvalidProblem("road_graph", "has no nodes")
        self._graph = graph
        self._profiles = dict(profiles)
        self._cache_rows = cache_rows
        self._rows: OrderedDict[int, npt.NDArray[np.float64]] = OrderedDict()
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._lat0 = float(np.mean(graph.node_lat))
        self._tree = cKDTree(self._project(graph.node_lat, graph.node_lon))
        # Lexicographic (time, distance) weights, both kept exactly in one float64.
        units = np.maximum(np.rint(graph.edge_time_s * self._TIME_UNITS_PER_S), 1)
        weight = units * self._SCALE + np.rint(graph.edge_length_m)
        n = graph.num_nodes
        self._adjacency = csr_matrix(
            (weight, (graph.edge_from, graph.edge_to)), shape=(n, n)
        )
        self._reversed: csr_matrix | None = None
        self.stats = {"rows_computed": 0, "rows_from_cache": 0}

    @property
    def graph(self) -> RoadGraph:
        """The graph searched."""
        return self._graph

    def _project(
        self, lat: npt.ArrayLike, lon: npt.ArrayLike
    ) -> npt.NDArray[np.float64]:
        # Equirectangular around the graph's mean latitude: metres, good for a city.
        k = math.radians(1) * 6_371_008.8
        x = np.asarray(lon) * k * math.cos(math.radians(self._lat0))
        return np.column_stack([x, np.asarray(lat) * k])

    def snap(
        self, points: Points
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Nearest graph node of each point and the straight distance to it [m]."""
        return self._snap(validate_points(points))

    def _snap(
        self, coords: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        _, nodes = self._tree.query(self._project(coords[:, 0], coords[:, 1]))
        nodes = np.asarray(nodes, dtype=np.int64)
        gap = haversine_m(
            coords[:, 0],
            coords[:, 1],
            self._graph.node_lat[nodes],
            self._graph.node_lon[nodes],
        )
        return nodes, gap

    def matrices(
        self, points: Points, profiles: Collection[str] | None = None
    ) -> TravelMatrices:
        """Directed matrices; entries between two distinct points are at least 1 s."""
        chosen = _select_profiles(self._profiles, profiles)
        coords = validate_points(points)
        nodes, gap_m = self._snap(coords)
        weights = self._rows_for(nodes, nodes)
        everything = _Side(coords, nodes, gap_m, np.arange(len(nodes)))
        return self._assemble(everything, everything, weights, chosen)

    def extend(
        self, base: TravelMatrices, points: Points, new_points: Points
    ) -> TravelMatrices:
        """``base`` (built for ``points``) grown by ``new_points`` appended at the end.

        Only the new rows (forward search) and new columns (search on the reversed
        graph) are computed, so adding a few orders costs a few searches.
        """
        chosen = _select_profiles(self._profiles, list(base.durations))
        old = validate_points(points)
        new = validate_points(new_points)
        n, k = len(old), len(new)
        if base.distances.shape != (n, n):
            raise InvalidProblem("base", f"matrices are not {n} x {n}")
        old_nodes, old_gap = self._snap(old)
        new_nodes, new_gap = self._snap(new)
        both = _Side(
            np.vstack([old, new]),
            np.concatenate([old_nodes, new_nodes]),
            np.concatenate([old_gap, new_gap]),
            np.arange(n + k),
        )
        fresh = _Side(new, new_nodes, new_gap, np.arange(n, n + k))
        into = self._reverse_rows(new_nodes)[:, old_nodes].T
        rows = self._assemble(
            fresh, both, self._rows_for(new_nodes, both.nodes), chosen
        )
        cols = self._assemble(
            _Side(old, old_nodes, old_gap, np.arange(n)), fresh, into, chosen
        )
        durations: dict[str, IntMatrix] = {}
        for name in chosen:
            durations[name] = _grow(
                base.durations[name], rows.durations[name], cols.durations[name]
            )
        return TravelMatrices(
            durations, _grow(base.distances, rows.distances, cols.distances)
        )

    def preload(self, points: Points) -> None:
        """Compute and cache the rows of ``points`` now (e.g. every pharmacy)."""
        nodes, _ = self.snap(points)
        self._rows_for(nodes, nodes, admit=True)

    def _assemble(
        self,
        rows: _Side,
        cols: _Side,
        weights: npt.NDArray[np.float64],
        chosen: Mapping[str, VehicleProfile],
    ) -> TravelMatrices:
        """Integer matrices of one block from its combined road weights."""
        if not np.all(np.isfinite(weights)):
            raise InvalidProblem(
                "road_graph",
                "some points are unreachable (graph not strongly connected)",
            )
        road_units = np.floor(weights / self._SCALE)
        road_m = weights - road_units * self._SCALE
        road_s = road_units / self._TIME_UNITS_PER_S
        same_node = rows.nodes[:, None] == cols.nodes[None, :]
        itself = rows.index[:, None] == cols.index[None, :]
        direct_m = haversine_m(
            rows.coords[:, 0, None],
            rows.coords[:, 1, None],
            cols.coords[None, :, 0],
            cols.coords[None, :, 1],
        )
        access_m = rows.gap_m[:, None] + cols.gap_m[None, :]
        durations: dict[str, IntMatrix] = {}
        for name, p in chosen.items():
            leg_s = p.detour_factor / p.speed_mps
            trip_s = road_s * p.road_multiplier + access_m * leg_s
            trip_s = np.where(same_node, direct_m * leg_s, trip_s)
            durations[name] = np.where(itself, 0, np.maximum(_ceil_int(trip_s), 1))
        distances = np.where(same_node, direct_m, road_m + access_m)
        return TravelMatrices(
            durations, np.where(itself, 0, np.rint(distances)).astype(np.int64)
        )

    def _reverse_rows(self, nodes: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Weights from every node *to* each of ``nodes`` (reversed-graph search)."""
        if self._reversed is None:
            self._reversed = self._adjacency.T.tocsr()
        unique, inverse = np.unique(nodes, return_inverse=True)
        rows = dijkstra(self._reversed, directed=True, indices=unique)
        self.stats["rows_computed"] += len(unique)
        return np.atleast_2d(rows)[inverse]

    def _rows_for(
        self,
        nodes: npt.NDArray[np.int64],
        cols: npt.NDArray[np.int64] | None = None,
        *,
        admit: bool = False,
    ) -> npt.NDArray[np.float64]:
        """Weights from ``nodes`` to ``cols`` (all nodes if None); cached rows reused.

        Missing rows are searched in batches of ``_BATCH`` sources per Dijkstra
        call, which bounds the memory of the dense result.
        """
        width = self._graph.num_nodes if cols is None else len(cols)
        out = np.empty((len(nodes), width))
        where: dict[int, list[int]] = {}
        for i, node in enumerate(nodes.tolist()):
            where.setdefault(node, []).append(i)
        missing = [node for node in where if node not in self._rows]
        self.stats["rows_from_cache"] += len(where) - len(missing)
        for node in where.keys() - set(missing):
            self._rows.move_to_end(node)
            row = self._rows[node]
            out[where[node]] = row if cols is None else row[cols]
        for first in range(0, len(missing), self._BATCH):
            batch = missing[first : first + self._BATCH]
            rows = np.atleast_2d(
                dijkstra(self._adjacency, directed=True, indices=batch)
            )
            self.stats["rows_computed"] += len(batch)
            for node, row in zip(batch, rows, strict=True):
                out[where[node]] = row if cols is None else row[cols]
                self._remember(node, row, admit=admit)
        return out

    def _remember(
        self, node: int, row: npt.NDArray[np.float64], *, admit: bool
    ) -> None:
        # Admit a row on its second request: one-off addresses don't evict pharmacies.
        if self._cache_rows == 0:
            return
        if node not in self._seen and not admit:
            self._seen[node] = None
            if len(self._seen) > 16 * self._cache_rows:
                self._seen.popitem(last=False)
            return
        self._rows[node] = row.copy()  # a view would pin the whole batch array
        if len(self._rows) > self._cache_rows:
            self._rows.popitem(last=False)
