"""Arrival/departure detection at pharmacies and delivery points (pure).

Fences are shapely circles or polygons in a local metric frame around their
anchor. A rider *arrives* after staying inside for ``dwell_s``; they *depart*
after staying farther than ``exit_margin_m`` outside the fence for ``dwell_s``.
The gap between the two boundaries (hysteresis) and the dwell times keep GPS
drift from flapping the state. Fixes worse than ``max_accuracy_m`` are ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

_M_PER_DEG_LAT = 111_320.0


class FenceKind(StrEnum):
    """What a fence surrounds."""

    pharmacy = "pharmacy"
    delivery = "delivery"


class Transition(StrEnum):
    """A fence event."""

    arrived = "arrived"
    departed = "departed"


class _State(StrEnum):
    outside = "outside"
    entering = "entering"
    inside = "inside"
    leaving = "leaving"


@dataclass(frozen=True)
class Geofence:
    """A fence anchored at (``lat``, ``lon``); shape in metres around the anchor."""

    fence_id: str
    kind: FenceKind
    lat: float
    lon: float
    shape: BaseGeometry
    order_id: str | None = None

    @classmethod
    def circle(
        cls,
        fence_id: str,
        kind: FenceKind,
        lat: float,
        lon: float,
        radius_m: float,
        order_id: str | None = None,
    ) -> Geofence:
        """A circular fence of ``radius_m`` around a point."""
        if radius_m <= 0:
            raise ValueError("radius_m must be positive")
        return cls(
            fence_id, kind, lat, lon, Point(0.0, 0.0).buffer(radius_m, 32), order_id
        )

    @classmethod
    def polygon(
        cls,
        fence_id: str,
        kind: FenceKind,
        vertices: list[tuple[float, float]],
        order_id: str | None = None,
    ) -> Geofence:
        """A polygon fence from (lat, lon) vertices (e.g. a building footprint)."""
        if len(vertices) < 3:
            raise ValueError("a polygon fence needs >= 3 vertices")
        lat0 = sum(v[0] for v in vertices) / len(vertices)
        lon0 = sum(v[1] for v in vertices) / len(vertices)
        shape = Polygon([to_local(lat, lon, lat0, lon0) for lat, lon in vertices])
        if not shape.is_valid or shape.area <= 0:
            raise ValueError("polygon fence is not a valid simple polygon")
        return cls(fence_id, kind, lat0, lon0, shape, order_id)

    def distance_m(self, lat: float, lon: float) -> float:
        """Metres from the point to the fence (0 inside)."""
        return float(self.shape.distance(Point(to_local(lat, lon, self.lat, self.lon))))


def to_local(lat: float, lon: float, lat0: float, lon0: float) -> tuple[float, float]:
    """Equirectangular projection to metres around (lat0, lon0); fine below ~10 km."""
    x = (lon - lon0) * _M_PER_DEG_LAT * math.cos(math.radians(lat0))
    y = (lat - lat0) * _M_PER_DEG_LAT
    return x, y


@dataclass(frozen=True, slots=True)
class FenceEvent:
    """A rider arrived at or departed from a fence."""

    rider_id: str
    fence: Geofence
    transition: Transition
    occurred_at: datetime
    lat: float
    lon: float


@dataclass
class _Track:
    state: _State = _State.outside
    since: datetime | None = None


@dataclass
class GeofenceTracker:
    """Per-rider fence state machines; feed fixes in device-time order."""

    dwell_s: float = 20.0
    exit_margin_m: float = 40.0
    max_accuracy_m: float = 100.0
    _fences: dict[str, list[Geofence]] = field(default_factory=dict)
    _tracks: dict[tuple[str, str], _Track] = field(default_factory=dict)

    def set_fences(self, rider_id: str, fences: list[Geofence]) -> None:
        """The fences that matter for ``rider_id`` now (their route's stops)."""
        keep = {f.fence_id for f in fences}
        for key in [k for k in self._tracks if k[0] == rider_id and k[1] not in keep]:
            del self._tracks[key]
        self._fences[rider_id] = list(fences)

    def forget(self, rider_id: str) -> None:
        """Drop every fence and state of ``rider_id``."""
        self.set_fences(rider_id, [])
        self._fences.pop(rider_id, None)

    def inside(self, rider_id: str, fence_id: str) -> bool:
        """Whether the rider currently counts as arrived at ``fence_id``."""
        track = self._tracks.get((rider_id, fence_id))
        return track is not None and track.state in (_State.inside, _State.leaving)

    def update(
        self,
        rider_id: str,
        lat: float,
        lon: float,
        at: datetime,
        accuracy_m: float | None = None,
    ) -> list[FenceEvent]:
        """Advance every fence of the rider with one fix; return transitions."""
        if accuracy_m is not None and accuracy_m > self.max_accuracy_m:
            return []
        events: list[FenceEvent] = []
        dwell = timedelta(seconds=self.dwell_s)
        for fence in self._fences.get(rider_id, ()):
            track = self._tracks.setdefault((rider_id, fence.fence_id), _Track())
            distance = fence.distance_m(lat, lon)
            transition = _step(
                track, distance <= 0.0, distance > self.exit_margin_m, at, dwell
            )
            if transition is not None:
                events.append(FenceEvent(rider_id, fence, transition, at, lat, lon))
        return events


def _step(
    track: _Track, inside: bool, clearly_out: bool, at: datetime, dwell: timedelta
) -> Transition | None:
    if track.state in (_State.outside, _State.entering):
        if not inside:
            track.state, track.since = _State.outside, None
            return None
        if track.state is _State.outside:
            track.state, track.since = _State.entering, at
        if track.since is not None and at - track.since >= dwell:
            track.state, track.since = _State.inside, None
            return Transition.arrived
        return None
    if not clearly_out:  # inside, or in the hysteresis band: stays arrived
        track.state, track.since = _State.inside, None
        return None
    if track.state is _State.inside:
        track.state, track.since = _State.leaving, at
    if track.since is not None and at - track.since >= dwell:
        track.state, track.since = _State.outside, None
        return Transition.departed
    return None
