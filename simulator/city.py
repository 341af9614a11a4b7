"""The simulator's own map of Malta, read from the bundled OSM extract.

Reads ``data/city/malta-2018-08-27.osm.pbf`` with pyosmium (© OpenStreetMap
contributors, ODbL) and keeps the main island only: the largest connected
component of the drivable road network (Gozo and Comino have no road link to it).
From that it holds road nodes and edges, the pharmacies (``amenity=pharmacy``
nodes and ways, snapped to the nearest road node) and residential delivery
points (nodes on ``residential``/``living_street`` ways). The parsed result is
cached as ``.npz`` under ``<data dir>/city/``.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import osmium
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from simulator.errors import CityDataError

__all__ = [
    "ROAD_SPEED_MPS",
    "CityData",
    "Pharmacy",
    "default_pbf",
    "haversine_m",
    "load_city",
    "project_m",
]

log = logging.getLogger(__name__)

_CACHE_VERSION = 1
_EARTH_RADIUS_M = 6_371_000.0
_SNAP_LIMIT_M = 300.0
_DELIVERY_HIGHWAYS = ("residential", "living_street")

#: Free-flow speed (m/s) per OSM highway class on the simulator's map.
ROAD_SPEED_MPS: dict[str, float] = {
    "trunk": 20.0,
    "trunk_link": 14.0,
    "motorway": 22.0,
    "motorway_link": 14.0,
    "primary": 15.0,
    "primary_link": 11.0,
    "secondary": 13.0,
    "secondary_link": 10.0,
    "tertiary": 11.0,
    "tertiary_link": 9.0,
    "unclassified": 10.0,
    "road": 9.0,
    "residential": 8.0,
    "living_street": 4.0,
    "service": 5.0,
}
_CLASSES = tuple(ROAD_SPEED_MPS)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Pharmacy:
    """A real pharmacy of the extract; ``node`` is its nearest road node."""

    osm_ref: str  # "node/123" or "way/456"
    name: str
    lat: float
    lon: float
    node: int


@dataclass(frozen=True)
class CityData:
    """Main-island roads, pharmacies and delivery points (arrays by node index)."""

    node_lat: FloatArray
    node_lon: FloatArray
    edge_from: IntArray
    edge_to: IntArray
    edge_length_m: FloatArray
    edge_speed_mps: FloatArray
    pharmacies: tuple[Pharmacy, ...]
    delivery_nodes: IntArray

    @property
    def node_count(self) -> int:
        """Road nodes on the main island."""
        return int(self.node_lat.size)


_EXTRACT = "data/city/malta-2018-08-27.osm.pbf"


def default_pbf() -> Path:
    """The bundled OSM extract: inside the package (an installed wheel carries
    ``data/city`` as ``simulator/data/city``) or in the source tree."""
    here = Path(__file__).resolve().parent
    packaged = here / _EXTRACT
    return packaged if packaged.is_file() else here.parent / _EXTRACT


def load_city(pbf: Path | None = None, *, cache_dir: Path | None = None) -> CityData:
    """Parse ``pbf`` (default: the bundled extract), using an ``.npz`` cache."""
    pbf = pbf or default_pbf()
    try:
        digest = hashlib.sha256(pbf.read_bytes()).hexdigest()[:16]
    except OSError as exc:
        raise CityDataError(f"cannot read OSM extract {pbf}: {exc.strerror}") from exc
    cache = None
    if cache_dir is not None:
        cache = cache_dir / f"{pbf.stem}-{digest}-v{_CACHE_VERSION}.npz"
        if cache.exists():
            try:
                return _read_cache(cache)
            except (OSError, KeyError, ValueError, zipfile.BadZipFile):
                log.warning(
                    "city cache %s unreadable; parsing the extract again", cache
                )
    city = _parse(pbf)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        _write_cache(city, cache)
    return city


class _Collector(osmium.SimpleHandler):
    """One pass over the extract: road ways and pharmacies."""

    def __init__(self) -> None:
        super().__init__()
        self.node_index: dict[int, int] = {}
        self.lat: list[float] = []
        self.lon: list[float] = []
        self.edges: list[tuple[int, int, int]] = []  # from, to, class index
        self.delivery: set[int] = set()
        self.pharmacies: list[tuple[str, str, float, float]] = []

    def _index(self, ref: int, lat: float, lon: float) -> int:
        found = self.node_index.get(ref)
        if found is None:
            found = self.node_index[ref] = len(self.lat)
            self.lat.append(lat)
            self.lon.append(lon)
        return found

    def node(self, n: osmium.osm.Node) -> None:
        if n.tags.get("amenity") == "pharmacy" and n.location.valid():
            name = n.tags.get("name", "") or f"Pharmacy node/{n.id}"
            self.pharmacies.append(
                (f"node/{n.id}", name, n.location.lat, n.location.lon)
            )

    def way(self, w: osmium.osm.Way) -> None:
        points = [(nd.ref, nd.lat, nd.lon) for nd in w.nodes if nd.location.valid()]
        if w.tags.get("amenity") == "pharmacy" and points:
            name = w.tags.get("name", "") or f"Pharmacy way/{w.id}"
            lat = sum(p[1] for p in points) / len(points)
            lon = sum(p[2] for p in points) / len(points)
            self.pharmacies.append((f"way/{w.id}", name, lat, lon))
        highway = w.tags.get("highway", "")
        if highway not in ROAD_SPEED_MPS or w.tags.get("access") in {"private", "no"}:
            return
        cls = _CLASSES.index(highway)
        indices = [self._index(ref, lat, lon) for ref, lat, lon in points]
        self.edges.extend((a, b, cls) for a, b in itertools.pairwise(indices))
        if highway in _DELIVERY_HIGHWAYS:
            self.delivery.update(indices)


def _parse(pbf: Path) -> CityData:
    collector = _Collector()
    try:
        collector.apply_file(str(pbf), locations=True)
    except RuntimeError as exc:
        raise CityDataError(f"cannot parse OSM extract {pbf}: {exc}") from exc
    if not collector.edges:
        raise CityDataError(f"OSM extract {pbf} has no drivable roads")
    lat = np.asarray(collector.lat, dtype=np.float64)
    lon = np.asarray(collector.lon, dtype=np.float64)
    raw = np.asarray(collector.edges, dtype=np.int64)
    keep = _largest_component(raw[:, 0], raw[:, 1], lat.size)
    new_index = np.full(lat.size, -1, dtype=np.int64)
    new_index[keep] = np.arange(keep.size)
    inside = (new_index[raw[:, 0]] >= 0) & (new_index[raw[:, 1]] >= 0)
    edges = raw[inside]
    lat, lon = lat[keep], lon[keep]
    src, dst = new_index[edges[:, 0]], new_index[edges[:, 1]]
    length = haversine_m(lat[src], lon[src], lat[dst], lon[dst])
    speed = np.asarray([ROAD_SPEED_MPS[_CLASSES[c]] for c in edges[:, 2]])
    delivery = new_index[np.fromiter(collector.delivery, dtype=np.int64)]
    pharmacies = _snap_pharmacies(collector.pharmacies, lat, lon)
    log.info(
        "city parsed: %d road nodes, %d pharmacies on the main island",
        lat.size,
        len(pharmacies),
    )
    return CityData(
        node_lat=lat,
        node_lon=lon,
        edge_from=src,
        edge_to=dst,
        edge_length_m=length,
        edge_speed_mps=speed,
        pharmacies=pharmacies,
        delivery_nodes=np.unique(delivery[delivery >= 0]),
    )


def _largest_component(src: IntArray, dst: IntArray, size: int) -> IntArray:
    graph = coo_matrix((np.ones(src.size), (src, dst)), shape=(size, size))
    _, labels = connected_components(graph, directed=False)
    used = np.unique(np.concatenate([src, dst]))
    biggest = np.bincount(labels[used]).argmax()
    return np.flatnonzero(labels == biggest)


def _snap_pharmacies(
    found: list[tuple[str, str, float, float]], lat: FloatArray, lon: FloatArray
) -> tuple[Pharmacy, ...]:
    tree = cKDTree(project_m(lat, lon))
    result: dict[str, Pharmacy] = {}
    for ref, name, p_lat, p_lon in sorted(found):
        point = project_m(np.asarray([p_lat]), np.asarray([p_lon]))[0]
        distance_m, node = tree.query(point)
        if distance_m <= _SNAP_LIMIT_M:
            result[ref] = Pharmacy(ref, name, p_lat, p_lon, int(node))
    return tuple(result.values())


def project_m(lat: FloatArray, lon: FloatArray) -> FloatArray:
    """Equirectangular metres around Malta (35.9 N): good to ~0.1 % here."""
    lat0 = np.radians(35.9)
    x = np.radians(lon) * np.cos(lat0) * _EARTH_RADIUS_M
    y = np.radians(lat) * _EARTH_RADIUS_M
    return np.column_stack([x, y])


def haversine_m(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
) -> FloatArray:
    """Great-circle distance in metres (element-wise)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(a)), dtype=np.float64)


def _write_cache(city: CityData, path: Path) -> None:
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp,
        node_lat=city.node_lat,
        node_lon=city.node_lon,
        edge_from=city.edge_from,
        edge_to=city.edge_to,
        edge_length_m=city.edge_length_m,
        edge_speed_mps=city.edge_speed_mps,
        delivery_nodes=city.delivery_nodes,
        pharmacy_ref=np.asarray([p.osm_ref for p in city.pharmacies], dtype=str),
        pharmacy_name=np.asarray([p.name for p in city.pharmacies], dtype=str),
        pharmacy_lat=np.asarray([p.lat for p in city.pharmacies]),
        pharmacy_lon=np.asarray([p.lon for p in city.pharmacies]),
        pharmacy_node=np.asarray([p.node for p in city.pharmacies], dtype=np.int64),
    )
    tmp.replace(path)


def _read_cache(path: Path) -> CityData:
    with np.load(path, allow_pickle=False) as data:
        pharmacies = tuple(
            Pharmacy(str(ref), str(name), float(lat), float(lon), int(node))
            for ref, name, lat, lon, node in zip(
                data["pharmacy_ref"],
                data["pharmacy_name"],
                data["pharmacy_lat"],
                data["pharmacy_lon"],
                data["pharmacy_node"],
                strict=True,
            )
        )
        return CityData(
            node_lat=data["node_lat"],
            node_lon=data["node_lon"],
            edge_from=data["edge_from"],
            edge_to=data["edge_to"],
            edge_length_m=data["edge_length_m"],
            edge_speed_mps=data["edge_speed_mps"],
            pharmacies=pharmacies,
            delivery_nodes=data["delivery_nodes"],
        )
