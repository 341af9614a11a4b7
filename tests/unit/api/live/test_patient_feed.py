"""What a patient's feed gets of the rider: positions only while the rider is
heading to them (their delivery is the rider's next stop), never the rider's id,
and a null position once the rider no longer heads there."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson

from api.live.geofence import FenceKind, GeofenceTracker
from api.live.hub import Hub, RiderPosition, Subscriber, order_topic
from api.live.tracker import LiveTracker, RouteStop

AT = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def _drain(sub: Subscriber) -> list[dict[str, Any]]:
    frames = asyncio.run(sub.next_frames(0.01))
    return [orjson.loads(f) for f in frames]


def _positions_seen(sub: Subscriber) -> list[Any]:
    """The ``rider_position`` of every tracking frame (absent ones skipped)."""
    return [
        f["data"]["rider_position"]
        for f in _drain(sub)
        if f["type"] == "tracking.updated" and "rider_position" in f["data"]
    ]


def _stop(
    order_id: str, kind: FenceKind, lat: float, *, carried: bool = True
) -> RouteStop:
    return RouteStop(
        f"{kind.value}-{order_id}", kind, order_id, lat, 14.5, carried=carried
    )


def _tracker(hub: Hub) -> LiveTracker:
    return LiveTracker(hub, GeofenceTracker(), radius_m=50, material_change_s=60)


def test_no_position_before_pickup_then_positions_without_the_rider_id() -> None:
    """While the pickup comes first the patient sees nothing of the rider; once
    their delivery is next, each fix arrives as lat/lon only."""
    hub = Hub()
    tracker = _tracker(hub)
    tracker.set_route(
        "r1",
        [
            _stop("o-1", FenceKind.pharmacy, 35.90),
            _stop("o-1", FenceKind.delivery, 35.95),
        ],
    )
    patient = hub.subscribe("patient", topics={order_topic("o-1")})
    tracker.attach_patient("o-1", patient)
    tracker.on_position(RiderPosition("r1", 35.80, 14.5, AT))
    assert _positions_seen(patient) == []

    tracker.set_route("r1", [_stop("o-1", FenceKind.delivery, 35.95)])
    tracker.on_position(RiderPosition("r1", 35.91, 14.5, AT))
    frames = _drain(patient)
    seen = [
        f["data"]["rider_position"] for f in frames if "rider_position" in f["data"]
    ]
    assert seen == [{"lat": 35.80, "lon": 14.5}, {"lat": 35.91, "lon": 14.5}]
    assert "r1" not in orjson.dumps(frames).decode()
    assert all(f["type"] != "positions" for f in frames)


def test_another_stop_first_hides_the_rider_and_clears_the_marker() -> None:
    """A re-plan that puts another patient first sends a null position to this
    patient, and no fix reaches them until they are next again."""
    hub = Hub()
    tracker = _tracker(hub)
    mine = _stop("o-1", FenceKind.delivery, 35.95)
    other = _stop("o-2", FenceKind.delivery, 35.85)
    tracker.set_route("r1", [mine, other])
    patient = hub.subscribe("patient", topics={order_topic("o-1")})
    tracker.attach_patient("o-1", patient)
    tracker.on_position(RiderPosition("r1", 35.90, 14.5, AT))
    assert _positions_seen(patient) == [{"lat": 35.90, "lon": 14.5}]

    tracker.set_route("r1", [other, mine])
    assert _positions_seen(patient) == [None]
    tracker.on_position(RiderPosition("r1", 35.88, 14.5, AT))
    assert _positions_seen(patient) == []

    tracker.set_route("r1", [mine])
    assert _positions_seen(patient) == [{"lat": 35.88, "lon": 14.5}]


def test_other_orders_feeds_see_nothing_and_detach_forgets() -> None:
    """A patient whose order is not next gets no fix; a detached feed no frame."""
    hub = Hub()
    tracker = _tracker(hub)
    tracker.set_route(
        "r1",
        [
            _stop("o-1", FenceKind.delivery, 35.95),
            _stop("o-2", FenceKind.delivery, 35.9),
        ],
    )
    first = hub.subscribe("patient", topics={order_topic("o-1")})
    second = hub.subscribe("patient", topics={order_topic("o-2")})
    tracker.attach_patient("o-1", first)
    tracker.attach_patient("o-2", second)
    tracker.on_position(RiderPosition("r1", 35.91, 14.5, AT))
    assert _positions_seen(second) == []
    assert _positions_seen(first) == [{"lat": 35.91, "lon": 14.5}]
    tracker.detach_patient("o-1", first)
    hub.unsubscribe(first)
    tracker.on_position(RiderPosition("r1", 35.92, 14.5, AT))
    assert first.pending() == 0


def test_leaving_the_pharmacy_before_the_pickup_shows_nothing() -> None:
    """A rider who leaves the pharmacy's fence without the pickup recorded has
    the delivery next in live tracking, but not the goods: the patient sees no
    fix until the route says the order is carried."""
    hub = Hub()
    tracker = _tracker(hub)
    tracker.set_route(
        "r1",
        [
            _stop("o-1", FenceKind.pharmacy, 35.90),
            _stop("o-1", FenceKind.delivery, 35.95, carried=False),
        ],
    )
    patient = hub.subscribe("patient", topics={order_topic("o-1")})
    tracker.attach_patient("o-1", patient)
    tracker.set_route("r1", [_stop("o-1", FenceKind.delivery, 35.95, carried=False)])
    tracker.on_position(RiderPosition("r1", 35.92, 14.5, AT))
    assert tracker.heading_to("o-1") is None
    assert _positions_seen(patient) == []
    tracker.set_route("r1", [_stop("o-1", FenceKind.delivery, 35.95)])
    assert _positions_seen(patient) == [{"lat": 35.92, "lon": 14.5}]
