"""Read an OpenStreetMap extract (pyosmium) into plain arrays: roads, pharmacies, homes.

The drivable network follows the car/scooter highway classes; one-way rules honour
``oneway=yes|true|1|-1|reverse``, roundabouts and motorways; speeds come from
``maxspeed`` (km/h, mph, ``MT:urban``-style zone codes) or a per-class default.
Only this module imports ``osmium``.
"""

from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
import osmium

from dispatch.errors import InvalidInput
from routing.road_network import RoadGraph, haversine_m

log = logging.getLogger(__name__)

CLASS_SPEED_KMH: dict[str, float] = {
    "motorway": 80,
    "trunk": 60,
    "primary": 50,
    "secondary": 40,
    "tertiary": 35,
    "unclassified": 30,
    "residential": 25,
    "living_street": 10,
    "service": 15,
    "road": 25,
    "motorway_link": 50,
    "trunk_link": 40,
    "primary_link": 35,
    "secondary_link": 30,
    "tertiary_link": 30,
}
"""Default free-flow speed per drivable ``highway`` class (urban Malta)."""

ZONE_SPEED_KMH = {"urban": 50.0, "rural": 80.0, "living_street": 10.0, "walk": 6.0}
HOME_CLASSES = frozenset({"residential", "living_street"})
_NO_ACCESS = frozenset({"no", "private"})
_ACCESS_OK = frozenset({"yes", "designated", "destination", "permissive"})
_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh)?\s*$")


class Tags(Protocol):
    """What is read from an OSM tag list (``osmium.osm.TagList`` or a dict)."""

    def get(self, key: str, /) -> str | None:
        """The value of ``key``, or None."""
        ...


@dataclass(frozen=True, eq=False)
class OsmPharmacy:
    """A pharmacy as tagged in OSM (a node, or a way reduced to its centroid)."""

    osm_id: str
    name: str
    lat: float
    lon: float


@dataclass(frozen=True, eq=False)
class OsmExtract:
    """Everything the city needs from one extract, before simplification."""

    roads: RoadGraph
    pharmacies: tuple[OsmPharmacy, ...]
    home_lat: npt.NDArray[np.float64]
    home_lon: npt.NDArray[np.float64]


def parse_speed_kmh(value: str | None, highway: str) -> float:
    """Speed from a ``maxspeed`` tag, or the class default when absent or unreadable."""
    default = CLASS_SPEED_KMH[highway]
    if not value:
        return default
    match = _SPEED.match(value)
    if match:
        speed = float(match.group(1)) * (1.609344 if match.group(2) == "mph" else 1.0)
        return speed if speed > 0 else default
    zone = value.rpartition(":")[2]
    return ZONE_SPEED_KMH.get(zone, default)


def way_directions(tags: Tags, highway: str) -> tuple[bool, bool]:
    """Whether the way may be driven (forward, backward) along its node order."""
    oneway = tags.get("oneway") or ""
    if oneway in ("-1", "reverse"):
        return False, True
    if oneway in ("yes", "true", "1"):
        return True, False
    if oneway == "no":
        return True, True
    implied = highway in ("motorway", "motorway_link") or tags.get("junction") in (
        "roundabout",
        "circular",
    )
    return True, not implied


def is_drivable(tags: Tags) -> bool:
    """A car/scooter road open to the public."""
    highway = tags.get("highway")
    if highway not in CLASS_SPEED_KMH or tags.get("area") == "yes":
        return False
    if tags.get("access") in _NO_ACCESS:
        vehicle = tags.get("motor_vehicle") or tags.get("motorcar")
        return vehicle in _ACCESS_OK
    return tags.get("motor_vehicle") not in _NO_ACCESS


class _Builder:
    """Collects nodes and edges while the file streams past."""

    def __init__(self) -> None:
        self.index: dict[int, int] = {}
        self.lat: list[float] = []
        self.lon: list[float] = []
        self.edge_from: list[int] = []
        self.edge_to: list[int] = []
        self.edge_speed: list[float] = []
        self.homes: set[int] = set()
        self.pharmacies: list[OsmPharmacy] = []

    def node_index(self, ref: int, lat: float, lon: float) -> int:
        found = self.index.get(ref)
        if found is None:
            found = self.index[ref] = len(self.lat)
            self.lat.append(lat)
            self.lon.append(lon)
        return found

    def add_road(self, way: osmium.osm.Way) -> None:
        highway = way.tags["highway"]
        forward, backward = way_directions(way.tags, highway)
        speed_mps = parse_speed_kmh(way.tags.get("maxspeed"), highway) / 3.6
        chain = [
            self.node_index(n.ref, n.location.lat, n.location.lon)
            for n in way.nodes
            if n.location.valid()
        ]
        if highway in HOME_CLASSES:
            self.homes.update(chain)
        for a, b in itertools.pairwise(chain):
            for go, src, dst in ((forward, a, b), (backward, b, a)):
                if go:
                    self.edge_from.append(src)
                    self.edge_to.append(dst)
                    self.edge_speed.append(speed_mps)

    def add_pharmacy(self, obj: osmium.osm.Node | osmium.osm.Way) -> None:
        if isinstance(obj, osmium.osm.Node):
            kind, lat, lon = "node", obj.location.lat, obj.location.lon
        else:
            coords = {
                (n.location.lat, n.location.lon)
                for n in obj.nodes
                if n.location.valid()
            }
            if not coords:
                return
            kind = "way"
            lat = sum(c[0] for c in coords) / len(coords)
            lon = sum(c[1] for c in coords) / len(coords)
        name = obj.tags.get("name") or f"Pharmacy {kind}/{obj.id}"
        self.pharmacies.append(OsmPharmacy(f"osm:{kind}/{obj.id}", name, lat, lon))

    def finish(self) -> OsmExtract:
        lat = np.array(self.lat)
        lon = np.array(self.lon)
        src = np.array(self.edge_from, dtype=np.int64)
        dst = np.array(self.edge_to, dtype=np.int64)
        length_m = haversine_m(lat[src], lon[src], lat[dst], lon[dst])
        time_s = np.maximum(length_m / np.array(self.edge_speed), 0.1)
        homes = np.array(sorted(self.homes), dtype=np.int64)
        return OsmExtract(
            roads=RoadGraph(lat, lon, src, dst, length_m, time_s),
            pharmacies=tuple(sorted(self.pharmacies, key=lambda p: p.osm_id)),
            home_lat=lat[homes],
            home_lon=lon[homes],
        )


def read_extract(path: Path) -> OsmExtract:
    """Parse roads, pharmacies and residential street nodes from an ``.osm.pbf``."""
    if not path.is_file():
        raise InvalidInput(f"OSM extract not found: {path}")
    builder = _Builder()
    try:
        processor = (
            osmium.FileProcessor(str(path))
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("highway", "amenity"))
        )
        for obj in processor:
            if not isinstance(obj, osmium.osm.Node | osmium.osm.Way):
                continue
            if obj.tags.get("amenity") == "pharmacy":
                builder.add_pharmacy(obj)
            if isinstance(obj, osmium.osm.Way) and is_drivable(obj.tags):
                builder.add_road(obj)
    except RuntimeError as exc:
        raise InvalidInput(f"cannot read OSM extract {path.name}: {exc}") from exc
    extract = builder.finish()
    log.info(
        "parsed %s: %d road nodes, %d edges, %d pharmacies",
        path.name,
        extract.roads.num_nodes,
        extract.roads.num_edges,
        len(extract.pharmacies),
    )
    return extract
