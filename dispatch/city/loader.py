"""The bundled city (Malta, OpenStreetMap): road graph, pharmacies, homes, service area.

``load_city`` parses the extract once (``dispatch.city.osm``), simplifies the road
graph to the main island's largest strongly connected component and caches the
result as ``.npz`` in ``<data_dir>/cache`` keyed by the extract's sha256, so later
loads skip the parse. Map data (c) OpenStreetMap contributors, ODbL 1.0.

The extract is found in the source tree's ``data/city`` or, in an installed wheel,
in ``simulator/data/city`` (pyproject's force-include); that directory is located
by a package path look-up, without importing ``simulator`` (dispatch must not).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import shapely

from dispatch.city.cache import read_cache, write_cache
from dispatch.city.osm import OsmPharmacy, read_extract
from dispatch.city.service_area import BUNDLED_AREA_NAME, find_city_file
from dispatch.errors import InvalidInput
from dispatch.geo import ServiceArea
from routing.road_network import RoadGraph, largest_strongly_connected, simplify

log = logging.getLogger(__name__)

EXTRACT_NAME = "malta-2018-08-27.osm.pbf"
REPO_DATA = Path(__file__).resolve().parents[2] / "data" / "city"
WHEEL_DATA_PACKAGE = "simulator"
"""The package a wheel ships ``data/city`` in (as ``<package>/data/city``)."""
ATTRIBUTION = "Map data (c) OpenStreetMap contributors, ODbL 1.0"
MAIN_ISLAND = "malta"
_AREA_BUFFER_DEG = 0.004  # ~400 m around the outermost road nodes (v3: covers
# the simulator's wider road graph, up to 150 m beyond the core's hull)


@dataclass(frozen=True, eq=False)
class Pharmacy:
    """A pharmacy of the city; ``island`` is ``"malta"`` (served) or ``"gozo"``."""

    osm_id: str
    name: str
    lat: float
    lon: float
    island: str


@dataclass(frozen=True, eq=False)
class City:
    """Everything a dispatch scenario needs about the place."""

    roads: RoadGraph
    """Simplified drivable graph of the main island (strongly connected)."""
    pharmacies: tuple[Pharmacy, ...]
    home_lat: npt.NDArray[np.float64]
    home_lon: npt.NDArray[np.float64]
    """Nodes of residential streets inside the service area (delivery addresses)."""
    service_area: ServiceArea
    source_sha256: str
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def served_pharmacies(self) -> tuple[Pharmacy, ...]:
        """Pharmacies on the main island (inside the service area)."""
        return tuple(p for p in self.pharmacies if p.island == MAIN_ISLAND)

    def in_service_area(
        self, lat: npt.ArrayLike, lon: npt.ArrayLike
    ) -> npt.NDArray[np.bool_]:
        """Vectorised: which (lat, lon) lie inside the service area."""
        return np.asarray(shapely.intersects_xy(self.service_area.geometry, lon, lat))


def find_extract(
    *, package: str = WHEEL_DATA_PACKAGE, source_tree: Path = REPO_DATA
) -> Path:
    """The bundled extract: in ``<package>/data/city`` (an installed wheel) or in
    ``source_tree``; the source-tree path if neither has it (``load_city`` then
    reports it missing). ``package`` is looked up on the import path, not imported.
    """
    return find_city_file(EXTRACT_NAME, package=package, source_tree=source_tree)


DEFAULT_EXTRACT = find_extract()


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_city(extract: Path = DEFAULT_EXTRACT, *, data_dir: Path) -> City:
    """The city from ``extract``, from the cache under ``data_dir`` when present."""
    if not extract.is_file():
        raise InvalidInput(f"city extract not found: {extract}")
    started = time.perf_counter()
    sha = file_sha256(extract)
    cached = read_cache(data_dir, sha)
    if cached is not None:
        city = City(source_sha256=sha, **cached)
        city.stats["load_s"] = time.perf_counter() - started
        city.stats["from_cache"] = 1
        return city
    city = build_city(extract, sha)
    write_cache(data_dir, sha, city)
    city.stats["load_s"] = time.perf_counter() - started
    city.stats["from_cache"] = 0
    log.info("city built from %s in %.2f s", extract.name, city.stats["load_s"])
    return city


def build_city(extract: Path, sha: str) -> City:
    """Parse and simplify (no cache)."""
    osm = read_extract(extract)
    core = largest_strongly_connected(osm.roads)
    roads = simplify(osm.roads)
    area = service_area_around(core)
    homes = np.asarray(shapely.intersects_xy(area.geometry, osm.home_lon, osm.home_lat))
    return City(
        roads=roads,
        pharmacies=tuple(_with_island(p, area) for p in osm.pharmacies),
        home_lat=osm.home_lat[homes],
        home_lon=osm.home_lon[homes],
        service_area=area,
        source_sha256=sha,
        stats={
            "raw_nodes": osm.roads.num_nodes,
            "raw_edges": osm.roads.num_edges,
            "core_nodes": core.num_nodes,
            "nodes": roads.num_nodes,
            "edges": roads.num_edges,
        },
    )


def service_area_around(roads: RoadGraph) -> ServiceArea:
    """A concave hull of the road nodes, buffered: the land the network covers."""
    points = shapely.MultiPoint(np.column_stack([roads.node_lon, roads.node_lat]))
    hull = shapely.concave_hull(points, ratio=0.02).buffer(_AREA_BUFFER_DEG)
    return ServiceArea(hull, name=BUNDLED_AREA_NAME)


def _with_island(pharmacy: OsmPharmacy, area: ServiceArea) -> Pharmacy:
    inside = bool(shapely.intersects_xy(area.geometry, pharmacy.lon, pharmacy.lat))
    return Pharmacy(
        osm_id=pharmacy.osm_id,
        name=pharmacy.name,
        lat=pharmacy.lat,
        lon=pharmacy.lon,
        island=MAIN_ISLAND if inside else "gozo",
    )
