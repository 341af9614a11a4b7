"""The parsed city as one ``.npz`` file keyed by the extract's sha256.

No pickles: arrays only (strings as unicode arrays, the service area as WKB bytes),
written to a temporary name and renamed so a crashed write never leaves a torn file.
A file of another format version, or one that fails to read, is ignored.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from dispatch.geo import ServiceArea
from routing.road_network import RoadGraph

if TYPE_CHECKING:
    from dispatch.city.loader import City

log = logging.getLogger(__name__)

FORMAT_VERSION = 3
"""2: the road graph keeps the shape of contracted chains (via arrays); 3: the
service area is buffered by ~400 m (was ~200 m)."""
_GRAPH_KEYS = (
    "node_lat",
    "node_lon",
    "edge_from",
    "edge_to",
    "edge_length_m",
    "edge_time_s",
    "via_offset",
    "via_lat",
    "via_lon",
)
_STAT_KEYS = ("raw_nodes", "raw_edges", "core_nodes", "nodes", "edges")


def cache_path(data_dir: Path, sha: str) -> Path:
    """Where the city parsed from an extract with digest ``sha`` is cached."""
    return data_dir / "cache" / f"city-{sha[:16]}-v{FORMAT_VERSION}.npz"


def write_cache(data_dir: Path, sha: str, city: City) -> Path:
    """Store ``city``; returns the file written."""
    target = cache_path(data_dir, sha)
    target.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {
        f"roads_{k}": v for k, v in city.roads.to_arrays().items()
    }
    arrays.update(
        pharmacy_id=np.array([p.osm_id for p in city.pharmacies], dtype=str),
        pharmacy_name=np.array([p.name for p in city.pharmacies], dtype=str),
        pharmacy_island=np.array([p.island for p in city.pharmacies], dtype=str),
        pharmacy_lat=np.array([p.lat for p in city.pharmacies]),
        pharmacy_lon=np.array([p.lon for p in city.pharmacies]),
        home_lat=city.home_lat,
        home_lon=city.home_lon,
        area_wkb=np.frombuffer(shapely.to_wkb(city.service_area.geometry), np.uint8),
        area_name=np.array(city.service_area.name),
        stats=np.array([city.stats.get(k, 0) for k in _STAT_KEYS], dtype=np.int64),
        sha256=np.array(sha),
        version=np.array(FORMAT_VERSION),
    )
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_cache(data_dir: Path, sha: str) -> dict[str, Any] | None:
    """Keyword arguments for ``City`` (without the digest), or None on a miss."""
    from dispatch.city.loader import Pharmacy

    path = cache_path(data_dir, sha)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["version"]) != FORMAT_VERSION or str(data["sha256"]) != sha:
                return None
            roads = RoadGraph(**{k: data[f"roads_{k}"] for k in _GRAPH_KEYS})
            pharmacies = tuple(
                Pharmacy(str(i), str(n), float(la), float(lo), str(isl))
                for i, n, isl, la, lo in zip(
                    data["pharmacy_id"],
                    data["pharmacy_name"],
                    data["pharmacy_island"],
                    data["pharmacy_lat"],
                    data["pharmacy_lon"],
                    strict=True,
                )
            )
            area = shapely.from_wkb(data["area_wkb"].tobytes())
            stats = dict(zip(_STAT_KEYS, data["stats"].tolist(), strict=True))
            return {
                "roads": roads,
                "pharmacies": pharmacies,
                "home_lat": np.array(data["home_lat"]),
                "home_lon": np.array(data["home_lon"]),
                "service_area": ServiceArea(area, name=str(data["area_name"])),
                "stats": {k: float(v) for k, v in stats.items()},
            }
    except (OSError, ValueError, KeyError) as exc:
        log.warning("ignoring unreadable city cache %s: %s", path.name, exc)
        return None
