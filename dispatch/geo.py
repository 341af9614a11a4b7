"""Geometry helpers (pure): great-circle distance and the service area."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

from dispatch.domain import GeoPoint
from dispatch.errors import InvalidInput, OutsideServiceArea

__all__ = ["EARTH_RADIUS_M", "ServiceArea", "haversine_m"]


def _plain(value: Any, decimals: int) -> Any:
    """Tuples to lists and floats rounded, recursively (JSON-ready GeoJSON)."""
    if isinstance(value, float):
        return round(value, decimals)
    if isinstance(value, tuple | list):
        return [_plain(v, decimals) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v, decimals) for k, v in value.items()}
    return value


EARTH_RADIUS_M = 6_371_008.8


def haversine_m(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance between two points, in metres."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = (
        math.sin(dlat / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class ServiceArea:
    """Where deliveries are accepted: a polygon (lon/lat) or a bounding box."""

    geometry: BaseGeometry
    name: str = "service area"

    def __post_init__(self) -> None:
        # Prepared once: a point test on the city's ~4,000-vertex outline then
        # costs microseconds (every order, pharmacy and rider fix is checked).
        shapely.prepare(self.geometry)

    @classmethod
    def from_geojson(
        cls, geometry: dict[str, Any], name: str = "polygon"
    ) -> ServiceArea:
        """A Polygon or MultiPolygon GeoJSON geometry (lon, lat)."""
        if geometry.get("type") not in ("Polygon", "MultiPolygon"):
            raise InvalidInput("a service area must be a Polygon or MultiPolygon")
        try:
            parsed = shape(geometry)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise InvalidInput("service area geometry is not valid GeoJSON") from exc
        if not isinstance(parsed, Polygon | MultiPolygon):
            raise InvalidInput("a service area must be a Polygon or MultiPolygon")
        if not parsed.is_valid or parsed.area == 0:
            raise InvalidInput("service area polygon is not valid")
        return cls(parsed, name=name)

    @classmethod
    def from_bbox(
        cls, min_lat: float, min_lon: float, max_lat: float, max_lon: float
    ) -> ServiceArea:
        """A rectangular area."""
        if min_lat >= max_lat or min_lon >= max_lon:
            raise InvalidInput("bounding box must have min < max")
        ring = [
            (min_lon, min_lat),
            (max_lon, min_lat),
            (max_lon, max_lat),
            (min_lon, max_lat),
        ]
        return cls(Polygon(ring), name="bbox")

    @classmethod
    def from_lonlat_ring(
        cls, ring: Sequence[tuple[float, float]], name: str = "polygon"
    ) -> ServiceArea:
        """A polygon from ``(lon, lat)`` vertices."""
        polygon = Polygon(ring)
        if not polygon.is_valid or polygon.area == 0:
            raise InvalidInput("service area polygon is not valid")
        return cls(polygon, name=name)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` degrees: GeoJSON's bbox order."""
        west, south, east, north = self.geometry.bounds
        return (float(west), float(south), float(east), float(north))

    def to_geojson(
        self, decimals: int = 6, tolerance_deg: float = 0.0
    ) -> dict[str, Any]:
        """The area as a GeoJSON geometry (lon, lat; exterior rings
        counter-clockwise, RFC 7946), rounded to ``decimals`` (6: about 0.1 m),
        simplified within ``tolerance_deg`` first when given (for display)."""
        geometry = self.geometry
        if tolerance_deg > 0:
            geometry = geometry.simplify(tolerance_deg, preserve_topology=True)
        rounded = shapely.set_precision(geometry, 10.0**-decimals)
        oriented = shapely.orient_polygons(rounded, exterior_cw=False)
        geojson: dict[str, Any] = _plain(mapping(oriented), decimals)
        return geojson

    def contains(self, point: GeoPoint) -> bool:
        """Whether ``point`` lies inside (or on the border of) the area."""
        return bool(self.geometry.covers(Point(point.lon, point.lat)))

    def require(self, point: GeoPoint, field: str = "location") -> None:
        """Raise :class:`OutsideServiceArea` (naming ``field`` and the area)
        unless the point is inside."""
        if not self.contains(point):
            raise OutsideServiceArea(
                f"{field} ({point.lat:.5f}, {point.lon:.5f}) is outside the "
                f"service area ({self.name})",
                field=field,
            )
