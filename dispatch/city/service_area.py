"""The bundled city's service area: a GeoJSON polygon shipped beside the extract.

``data/city/malta-service-area.geojson`` is the polygon ``load_city`` computes
(``dispatch.city.loader.service_area_around``: a buffered concave hull of the main
island's drivable roads), written once with ``python -m dispatch.city.service_area``
so a deployment enforces it from the first request, without loading the road graph.
A test checks it still matches the extract. This module imports no numpy or road
graph: settings read it at startup.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from dispatch.errors import InvalidInput
from dispatch.geo import ServiceArea

__all__ = [
    "BUNDLED_AREA_NAME",
    "SERVICE_AREA_FILE",
    "bundled_service_area",
    "find_city_file",
    "read_service_area",
]

SERVICE_AREA_FILE = "malta-service-area.geojson"
BUNDLED_AREA_NAME = "Malta main island"
REPO_DATA = Path(__file__).resolve().parents[2] / "data" / "city"
WHEEL_DATA_PACKAGE = "simulator"
"""The package a wheel ships ``data/city`` in (as ``<package>/data/city``)."""


def find_city_file(
    name: str, *, package: str = WHEEL_DATA_PACKAGE, source_tree: Path = REPO_DATA
) -> Path:
    """A bundled city file: in ``<package>/data/city`` (an installed wheel) or in
    ``source_tree``; the source-tree path if neither has it. ``package`` is looked
    up on the import path, not imported (dispatch must not import the simulator).
    """
    candidates = []
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        candidates += [
            Path(loc) / "data" / "city" / name
            for loc in spec.submodule_search_locations
        ]
    fallback = source_tree / name
    return next((c for c in candidates if c.is_file()), fallback)


def read_service_area(path: Path) -> ServiceArea:
    """A service area from a GeoJSON file: a Polygon or MultiPolygon geometry, a
    Feature holding one, or a FeatureCollection of one feature. Its name is the
    feature's ``properties.name``, else the file's stem."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"service area file {path} is not readable GeoJSON") from exc
    name = path.stem
    if isinstance(document, dict) and document.get("type") == "FeatureCollection":
        features = document.get("features") or []
        if len(features) != 1:
            raise InvalidInput(f"service area file {path} must hold one feature")
        document = features[0]
    if isinstance(document, dict) and document.get("type") == "Feature":
        properties = document.get("properties") or {}
        name = str(properties.get("name") or name)
        document = document.get("geometry")
    if not isinstance(document, dict):
        raise InvalidInput(f"service area file {path} holds no geometry")
    return ServiceArea.from_geojson(document, name=name)


def bundled_service_area() -> ServiceArea:
    """The bundled city's service area (the main island of Malta)."""
    return read_service_area(find_city_file(SERVICE_AREA_FILE))


def _write_bundled(target: Path) -> None:  # pragma: no cover - a maintenance tool
    """Recompute the polygon from the extract and write it as a GeoJSON Feature."""
    import tempfile

    from dispatch.city.loader import load_city

    with tempfile.TemporaryDirectory() as cache:
        city = load_city(data_dir=Path(cache))
    feature = {
        "type": "Feature",
        "properties": {
            "name": BUNDLED_AREA_NAME,
            "source": "dispatch.city.loader.service_area_around, OpenStreetMap "
            "(c) OpenStreetMap contributors, ODbL 1.0",
        },
        "geometry": city.service_area.to_geojson(decimals=6),
    }
    target.write_text(json.dumps(feature, separators=(",", ":")) + "\n")


if __name__ == "__main__":  # pragma: no cover
    _write_bundled(
        Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_DATA / SERVICE_AREA_FILE
    )
