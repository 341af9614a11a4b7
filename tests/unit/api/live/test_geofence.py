"""Geofence arrival/departure with dwell time and hysteresis."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from api.live.geofence import (
    FenceEvent,
    FenceKind,
    Geofence,
    GeofenceTracker,
    Transition,
)

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
LAT, LON = 35.9, 14.5
M_LAT = 1 / 111_320  # degrees of latitude per metre


def _tracker(dwell_s: float = 20.0) -> GeofenceTracker:
    tracker = GeofenceTracker(dwell_s=dwell_s, exit_margin_m=40.0)
    fence = Geofence.circle("stop-1", FenceKind.delivery, LAT, LON, 50.0, "o-1")
    tracker.set_fences("r1", [fence])
    return tracker


def _feed(
    tracker: GeofenceTracker, metres_north: Sequence[float], step_s: int = 5
) -> list[FenceEvent]:
    events: list[FenceEvent] = []
    for i, m in enumerate(metres_north):
        at = T0 + timedelta(seconds=i * step_s)
        events += tracker.update("r1", LAT + m * M_LAT, LON, at)
    return events


def test_arrival_needs_the_dwell_time_inside() -> None:
    """Passing through the fence for less than the dwell time is no arrival."""
    assert _feed(_tracker(), [200, 30, 10, 200, 200]) == []


def test_arrival_fires_once_after_dwelling() -> None:
    """Staying inside for the dwell time gives exactly one arrival."""
    events = _feed(_tracker(), [200, 30, 10, 0, 5, 10, 5, 0])
    assert [e.transition for e in events] == [Transition.arrived]
    assert events[0].occurred_at == T0 + timedelta(seconds=25)  # entered at 5 s
    assert events[0].fence.order_id == "o-1"


def test_drift_across_the_border_does_not_flap() -> None:
    """Jitter between 40 and 80 m after arrival stays within the hysteresis band."""
    drift = [0, 0, 0, 0, 0, 60, 45, 70, 55, 80, 48, 65, 75, 60]
    events = _feed(_tracker(), drift)
    assert [e.transition for e in events] == [Transition.arrived]


def test_departure_needs_leaving_beyond_the_margin_for_the_dwell_time() -> None:
    """Far outside for the dwell time gives one departure, then a new arrival works."""
    path = [0] * 6 + [150] * 6 + [0] * 6
    events = _feed(_tracker(), path)
    assert [e.transition for e in events] == [
        Transition.arrived,
        Transition.departed,
        Transition.arrived,
    ]


def test_inaccurate_fixes_are_ignored() -> None:
    """A fix with poor accuracy neither enters nor leaves."""
    tracker = _tracker(dwell_s=0)
    assert tracker.update("r1", LAT, LON, T0, accuracy_m=500) == []
    assert not tracker.inside("r1", "stop-1")


def test_polygon_fence_contains_points_inside_its_footprint() -> None:
    """A polygon fence measures 0 m inside and the metric distance outside."""
    d = 100 * M_LAT
    fence = Geofence.polygon(
        "ph-1",
        FenceKind.pharmacy,
        [
            (LAT - d, LON - d),
            (LAT - d, LON + d),
            (LAT + d, LON + d),
            (LAT + d, LON - d),
        ],
    )
    assert fence.distance_m(LAT, LON) == 0.0
    assert fence.distance_m(LAT + 2 * d, LON) == pytest.approx(100, rel=0.02)


def test_degenerate_fences_are_refused() -> None:
    """A non-positive radius or a two-point polygon is a clear error."""
    with pytest.raises(ValueError, match="radius"):
        Geofence.circle("x", FenceKind.delivery, LAT, LON, 0)
    with pytest.raises(ValueError, match="vertices"):
        Geofence.polygon("x", FenceKind.delivery, [(LAT, LON), (LAT + 1, LON)])
