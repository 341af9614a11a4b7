"""Google's encoded polyline format (precision 5 by default): encode and decode.

Each coordinate is rounded to ``10**-precision`` degrees (half away from zero),
the first point is written as is and every later one as the difference from the
previous rounded point, latitude before longitude; each signed integer becomes
5-bit chunks offset by 63 into printable ASCII. Rounding the absolute values
before taking differences keeps long lines free of accumulated error. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from routing.errors import InvalidProblem

__all__ = ["decode_polyline", "encode_polyline"]

DEFAULT_PRECISION = 5


def _round(value: float, factor: int) -> int:
    """Round half away from zero, as Google's reference implementation does."""
    return int(math.copysign(math.floor(abs(value) * factor + 0.5), value))


def _chunks(value: int, out: list[str]) -> None:
    value = ~(value << 1) if value < 0 else value << 1
    while value >= 0x20:
        out.append(chr((0x20 | (value & 0x1F)) + 63))
        value >>= 5
    out.append(chr(value + 63))


def encode_polyline(
    points: Iterable[tuple[float, float]], precision: int = DEFAULT_PRECISION
) -> str:
    """``points`` as (lat, lon) degrees -> the encoded string (empty for no points)."""
    if not 0 <= precision <= 10:
        raise InvalidProblem("precision", "must be between 0 and 10")
    factor = 10**precision
    out: list[str] = []
    prev_lat = prev_lon = 0
    for i, (lat, lon) in enumerate(points):
        if not (math.isfinite(lat) and math.isfinite(lon)):
            raise InvalidProblem(f"points[{i}]", "coordinates must be finite")
        if abs(lat) > 90 or abs(lon) > 180:
            raise InvalidProblem(f"points[{i}]", f"out of range ({lat}, {lon})")
        ilat, ilon = _round(lat, factor), _round(lon, factor)
        _chunks(ilat - prev_lat, out)
        _chunks(ilon - prev_lon, out)
        prev_lat, prev_lon = ilat, ilon
    return "".join(out)


def decode_polyline(
    encoded: str, precision: int = DEFAULT_PRECISION
) -> list[tuple[float, float]]:
    """The (lat, lon) points of an encoded polyline; malformed input raises."""
    factor = 10**precision
    values: list[int] = []
    shift = result = 0
    for i, char in enumerate(encoded):
        chunk = ord(char) - 63
        if not 0 <= chunk < 64:
            raise InvalidProblem("polyline", f"invalid character at {i}")
        result |= (chunk & 0x1F) << shift
        shift += 5
        if chunk < 0x20:
            values.append(~(result >> 1) if result & 1 else result >> 1)
            shift = result = 0
    if shift or len(values) % 2:
        raise InvalidProblem("polyline", "truncated")
    points: list[tuple[float, float]] = []
    lat = lon = 0
    for k in range(0, len(values), 2):
        lat += values[k]
        lon += values[k + 1]
        points.append((lat / factor, lon / factor))
    return points
