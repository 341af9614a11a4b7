"""Google's encoded polyline format against published vectors."""

from __future__ import annotations

import random

import pytest

from routing.errors import InvalidProblem
from routing.polyline import decode_polyline, encode_polyline

#: The example of Google's "Encoded Polyline Algorithm Format" page.
GOOGLE_POINTS = [(38.5, -120.2), (40.7, -120.95), (43.252, -126.453)]
GOOGLE_ENCODED = "_p~iF~ps|U_ulLnnqC_mqNvxq`@"


def test_google_reference_example() -> None:
    """The three-point example of the format's documentation, both ways."""
    assert encode_polyline(GOOGLE_POINTS) == GOOGLE_ENCODED
    assert decode_polyline(GOOGLE_ENCODED) == GOOGLE_POINTS


def test_google_single_value_example() -> None:
    """The documentation's worked value: -179.9832104 encodes as ``\\`~oia@``."""
    assert encode_polyline([(0.0, -179.9832104)]) == "?`~oia@"


def test_precision_six_as_used_by_osrm_and_valhalla() -> None:
    """The same points at precision 6 (polyline6)."""
    encoded = "_izlhA~rlgdF_{geC~ywl@_kwzCn`{nI"
    assert encode_polyline(GOOGLE_POINTS, precision=6) == encoded
    assert decode_polyline(encoded, precision=6) == GOOGLE_POINTS


@pytest.mark.parametrize(
    ("points", "encoded"),
    [
        ([], ""),
        ([(0.0, 0.0)], "??"),
        ([(0.000005, -0.000005)], "A@"),  # half away from zero: +1, -1
        ([(0.000004, -0.000004)], "??"),
        ([(35.8989, 14.5146), (35.8989, 14.5146)], "cobzEg{qwA??"),
    ],
)
def test_small_vectors(points: list[tuple[float, float]], encoded: str) -> None:
    """Empty input, zero, rounding at the half, a repeated point."""
    assert encode_polyline(points) == encoded


def test_round_trip_keeps_five_decimals_without_drift() -> None:
    """A long random walk decodes to the rounded input: deltas are taken between
    rounded points, so errors never accumulate."""
    rng = random.Random(7)
    lat, lon = 35.9, 14.5
    points = []
    for _ in range(2_000):
        lat += rng.uniform(-0.002, 0.002)
        lon += rng.uniform(-0.002, 0.002)
        points.append((lat, lon))
    decoded = decode_polyline(encode_polyline(points))
    assert len(decoded) == len(points)
    for (a, b), (c, d) in zip(points, decoded, strict=True):
        assert abs(a - c) <= 0.000005 + 1e-12
        assert abs(b - d) <= 0.000005 + 1e-12


@pytest.mark.parametrize(
    "points", [[(91.0, 0.0)], [(0.0, 181.0)], [(float("nan"), 0.0)]]
)
def test_bad_points_are_refused(points: list[tuple[float, float]]) -> None:
    """Out-of-range or non-finite coordinates raise."""
    with pytest.raises(InvalidProblem):
        encode_polyline(points)


@pytest.mark.parametrize("encoded", [GOOGLE_ENCODED[:-1], "_p~iF", "\x1f"])
def test_malformed_strings_are_refused(encoded: str) -> None:
    """A truncated value, an odd number of values, a character below '?'."""
    with pytest.raises(InvalidProblem):
        decode_polyline(encoded)
