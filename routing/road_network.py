"""A directed road graph as plain arrays, and its simplification for fast searches.

Pure numpy/scipy: the graph arrives as arrays (built by ``dispatch.city`` from an
OpenStreetMap extract) and is reduced to its largest strongly connected component
with degree-2 chains contracted, so one multi-source Dijkstra call on a few
thousand nodes replaces searches over every shape point of every street. A
contracted edge keeps the coordinates of the nodes it replaced (its *via* points),
so a path on the simplified graph can still be drawn along the real road. No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from routing.errors import InvalidProblem

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.int64]

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), used by every haversine in the package."""


def haversine_m(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> FloatArray:
    """Great-circle distance in metres between points given in degrees (broadcasts)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat = p2 - p1
    dlon = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1))))


@dataclass(frozen=True, eq=False)
class RoadGraph:
    """Directed graph: node coordinates (degrees) and edges with length and time.

    ``edge_time_s`` is the free-flow travel time of the edge for the reference
    vehicle (a car); profiles scale it. ``via_offset``/``via_lat``/``via_lon``
    (optional, all or none) hold the shape of each edge between its two ends:
    edge ``e`` passes through ``via_lat[via_offset[e]:via_offset[e + 1]]`` (and
    the matching longitudes) in driving order. Without them every edge is a
    straight segment. Arrays are validated and made read-only.
    """

    node_lat: FloatArray
    node_lon: FloatArray
    edge_from: IndexArray
    edge_to: IndexArray
    edge_length_m: FloatArray
    edge_time_s: FloatArray
    via_offset: IndexArray | None = None
    via_lat: FloatArray | None = None
    via_lon: FloatArray | None = None

    def __post_init__(self) -> None:
        n = self._coerce("node_lat", np.float64, None)
        self._coerce("node_lon", np.float64, n)
        m = self._coerce("edge_from", np.int64, None)
        for name, dtype in (
            ("edge_to", np.int64),
            ("edge_length_m", np.float64),
            ("edge_time_s", np.float64),
        ):
            self._coerce(name, dtype, m)
        if not (
            np.all(np.abs(self.node_lat) <= 90) and np.all(np.abs(self.node_lon) <= 180)
        ):
            raise InvalidProblem("road_graph.nodes", "coordinates out of range")
        for name in ("edge_from", "edge_to"):
            ends: IndexArray = getattr(self, name)
            if m and (ends.min() < 0 or ends.max() >= n):
                raise InvalidProblem(f"road_graph.{name}", "node index out of range")
        if np.any(self.edge_length_m < 0) or np.any(self.edge_time_s <= 0):
            raise InvalidProblem(
                "road_graph.edges", "lengths must be >= 0 and times > 0"
            )
        self._check_vias(m)

    def _check_vias(self, m: int) -> None:
        given = [self.via_offset is not None, self.via_lat is not None]
        given.append(self.via_lon is not None)
        if not any(given):
            return
        if not all(given):
            raise InvalidProblem("road_graph.via", "give all via arrays or none")
        offsets = self._coerce("via_offset", np.int64, m + 1)
        k = self._coerce("via_lat", np.float64, None)
        self._coerce("via_lon", np.float64, k)
        starts: IndexArray = self.via_offset  # type: ignore[assignment]
        if offsets and (
            starts[0] != 0 or starts[-1] != k or np.any(np.diff(starts) < 0)
        ):
            raise InvalidProblem(
                "road_graph.via_offset", "must rise from 0 to the number of points"
            )

    def _coerce(self, name: str, dtype: type, size: int | None) -> int:
        array: npt.NDArray[np.generic] = np.array(getattr(self, name), dtype=dtype)
        if array.ndim != 1 or (size is not None and array.shape[0] != size):
            raise InvalidProblem(
                f"road_graph.{name}", "must be a 1-d array of matching size"
            )
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise InvalidProblem(f"road_graph.{name}", "contains NaN or infinity")
        array.setflags(write=False)
        object.__setattr__(self, name, array)
        return int(array.shape[0])

    @property
    def num_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_lat.shape[0])

    @property
    def num_edges(self) -> int:
        """Number of directed edges."""
        return int(self.edge_from.shape[0])

    @property
    def has_vias(self) -> bool:
        """Whether edges carry their shape (else they are straight segments)."""
        return self.via_offset is not None

    def edge_vias(self, edge: int) -> tuple[FloatArray, FloatArray]:
        """Latitudes and longitudes strictly between the ends of ``edge``."""
        if self.via_offset is None or self.via_lat is None or self.via_lon is None:
            empty = np.empty(0)
            return empty, empty
        lo, hi = int(self.via_offset[edge]), int(self.via_offset[edge + 1])
        return self.via_lat[lo:hi], self.via_lon[lo:hi]

    def to_arrays(self) -> Mapping[str, npt.NDArray[np.generic]]:
        """The arrays by field name (for caching with ``numpy.savez``); the via
        arrays only when present."""
        arrays: dict[str, npt.NDArray[np.generic]] = {
            "node_lat": self.node_lat,
            "node_lon": self.node_lon,
            "edge_from": self.edge_from,
            "edge_to": self.edge_to,
            "edge_length_m": self.edge_length_m,
            "edge_time_s": self.edge_time_s,
        }
        if self.via_offset is not None and self.via_lat is not None:
            arrays["via_offset"] = self.via_offset
            arrays["via_lat"] = self.via_lat
            arrays["via_lon"] = self.via_lon  # type: ignore[assignment]
        return arrays

    def take_edges(
        self, edges: npt.NDArray[np.int64], **nodes: npt.NDArray[np.generic]
    ) -> RoadGraph:
        """A graph with only ``edges`` (in that order), their vias kept; ``nodes``
        may replace the node and end arrays (``node_lat``, ``edge_from`` ...)."""
        arrays: dict[str, npt.NDArray[np.generic]] = {
            "node_lat": self.node_lat,
            "node_lon": self.node_lon,
            "edge_from": self.edge_from[edges],
            "edge_to": self.edge_to[edges],
            "edge_length_m": self.edge_length_m[edges],
            "edge_time_s": self.edge_time_s[edges],
        }
        if self.via_offset is not None and self.via_lat is not None:
            starts = self.via_offset[:-1][edges]
            counts = self.via_offset[1:][edges] - starts
            offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
            picks = np.repeat(starts - offsets[:-1], counts) + np.arange(offsets[-1])
            arrays["via_offset"] = offsets
            arrays["via_lat"] = self.via_lat[picks]
            arrays["via_lon"] = self.via_lon[picks]  # type: ignore[index]
        arrays.update(nodes)
        return RoadGraph(**arrays)  # type: ignore[arg-type]


def largest_strongly_connected(graph: RoadGraph) -> RoadGraph:
    """The subgraph induced by the largest strongly connected component.

    Every node of the result can reach every other one, so no matrix entry built on
    it is ever unreachable; islands and one-way dead ends fall away.
    """
    n = graph.num_nodes
    adjacency = csr_matrix(
        (np.ones(graph.num_edges), (graph.edge_from, graph.edge_to)), shape=(n, n)
    )
    _, labels = connected_components(adjacency, directed=True, connection="strong")
    keep = labels == np.bincount(labels).argmax()
    return _induced(graph, keep)


def _induced(graph: RoadGraph, keep: npt.NDArray[np.bool_]) -> RoadGraph:
    new_index = np.full(graph.num_nodes, -1, dtype=np.int64)
    new_index[keep] = np.arange(int(keep.sum()))
    edges = np.flatnonzero(keep[graph.edge_from] & keep[graph.edge_to])
    return graph.take_edges(
        edges,
        node_lat=graph.node_lat[keep],
        node_lon=graph.node_lon[keep],
        edge_from=new_index[graph.edge_from[edges]],
        edge_to=new_index[graph.edge_to[edges]],
    )


def deduplicate_edges(graph: RoadGraph) -> RoadGraph:
    """Drop self-loops and keep only the fastest of parallel edges."""
    loops = graph.edge_from == graph.edge_to
    order = np.lexsort((graph.edge_time_s, graph.edge_to, graph.edge_from))
    order = order[~loops[order]]
    pairs = np.stack([graph.edge_from[order], graph.edge_to[order]])
    first = np.ones(order.shape[0], dtype=bool)
    first[1:] = np.any(pairs[:, 1:] != pairs[:, :-1], axis=0)
    return graph.take_edges(order[first])


def _pass_through(graph: RoadGraph) -> npt.NDArray[np.bool_]:
    """Nodes that only continue one street: 1 in/1 out (one-way) or 2 in/2 out."""
    n = graph.num_nodes
    out_deg = np.bincount(graph.edge_from, minlength=n)
    in_deg = np.bincount(graph.edge_to, minlength=n)
    out_nbrs = _sorted_neighbours(graph.edge_from, graph.edge_to, n)
    in_nbrs = _sorted_neighbours(graph.edge_to, graph.edge_from, n)
    one_way = (out_deg == 1) & (in_deg == 1) & (out_nbrs[:, 0] != in_nbrs[:, 0])
    two_way = (
        (out_deg == 2)
        & (in_deg == 2)
        & np.all(out_nbrs == in_nbrs, axis=1)
        & (out_nbrs[:, 0] != out_nbrs[:, 1])
    )
    return np.asarray(one_way | two_way)


def _sorted_neighbours(
    source: IndexArray, target: IndexArray, n: int
) -> npt.NDArray[np.int64]:
    """The first two neighbours of each node, sorted (-1 where fewer)."""
    nbrs = np.full((n, 2), -1, dtype=np.int64)
    order = np.lexsort((target, source))
    src, tgt = source[order], target[order]
    starts = np.searchsorted(src, np.arange(n))
    counts = np.bincount(src, minlength=n)
    for slot in (0, 1):
        has = counts > slot
        nbrs[has, slot] = tgt[starts[has] + slot]
    return nbrs


def contract_chains(graph: RoadGraph) -> RoadGraph:
    """Replace every chain of pass-through nodes by one edge (times/lengths summed).

    Only junctions, dead ends and direction changes remain as nodes; travel times
    between the remaining nodes are unchanged. Each new edge keeps the points it
    replaced (the chain's nodes and their edges' own vias) as its vias.
    """
    through = _pass_through(graph)
    if through.all():  # a bare ring: keep one node to anchor it
        through = through.copy()
        through[0] = False
    order = np.argsort(graph.edge_from, kind="stable")
    starts = np.searchsorted(graph.edge_from[order], np.arange(graph.num_nodes + 1))
    heads = graph.edge_to[order].tolist()
    times = graph.edge_time_s[order].tolist()
    lengths = graph.edge_length_m[order].tolist()
    bounds = starts.tolist()
    is_through = through.tolist()
    lat, lon = graph.node_lat.tolist(), graph.node_lon.tolist()
    original = order.tolist()
    old_vias = _via_lists(graph)
    new_from: list[int] = []
    new_to: list[int] = []
    new_time: list[float] = []
    new_length: list[float] = []
    via_lat: list[float] = []
    via_lon: list[float] = []
    via_offset = [0]

    def add_vias(sorted_edge: int) -> None:
        if old_vias is not None:
            offsets, old_lat, old_lon = old_vias
            e = original[sorted_edge]
            via_lat.extend(old_lat[offsets[e] : offsets[e + 1]])
            via_lon.extend(old_lon[offsets[e] : offsets[e + 1]])

    for node in np.flatnonzero(~through).tolist():
        for e in range(bounds[node], bounds[node + 1]):
            prev, cur, t, length = node, heads[e], times[e], lengths[e]
            add_vias(e)
            while is_through[cur]:
                via_lat.append(lat[cur])
                via_lon.append(lon[cur])
                step = bounds[cur]
                if bounds[cur + 1] - step == 2 and heads[step] == prev:
                    step += 1
                prev, cur = cur, heads[step]
                t += times[step]
                length += lengths[step]
                add_vias(step)
            new_from.append(node)
            new_to.append(cur)
            new_time.append(t)
            new_length.append(length)
            via_offset.append(len(via_lat))
    kept = ~through
    contracted = RoadGraph(
        node_lat=graph.node_lat,
        node_lon=graph.node_lon,
        edge_from=np.array(new_from, dtype=np.int64),
        edge_to=np.array(new_to, dtype=np.int64),
        edge_length_m=np.array(new_length),
        edge_time_s=np.array(new_time),
        via_offset=np.array(via_offset, dtype=np.int64),
        via_lat=np.array(via_lat, dtype=np.float64),
        via_lon=np.array(via_lon, dtype=np.float64),
    )
    return _induced(contracted, kept)


def _via_lists(
    graph: RoadGraph,
) -> tuple[list[int], list[float], list[float]] | None:
    if graph.via_offset is None or graph.via_lat is None or graph.via_lon is None:
        return None
    return graph.via_offset.tolist(), graph.via_lat.tolist(), graph.via_lon.tolist()


def simplify(graph: RoadGraph) -> RoadGraph:
    """Largest strongly connected part, parallel edges merged, chains contracted."""
    core = deduplicate_edges(largest_strongly_connected(graph))
    return deduplicate_edges(contract_chains(core))
