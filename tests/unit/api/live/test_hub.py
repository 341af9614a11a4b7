"""The hub: topic routing, coalesced positions, bounded queues."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson

from api.live.hub import DISPATCH_TOPIC, Hub, RiderPosition, Subscriber, order_topic


def _pos(rider: str, lat: float) -> RiderPosition:
    return RiderPosition(rider, lat, 14.5, datetime(2026, 11, 21, tzinfo=UTC))


def _drain(sub: Subscriber) -> list[dict[str, Any]]:
    frames = asyncio.run(sub.next_frames(0.01))
    return [orjson.loads(f) for f in frames]


def test_positions_coalesce_to_the_latest_per_rider() -> None:
    """Many fixes of one rider while a client is busy become one entry."""
    hub = Hub(queue_size=8)
    sub = hub.subscribe("dispatch", topics={DISPATCH_TOPIC}, all_positions=True)
    for i in range(100):
        hub.publish_position(_pos("r1", 35.0 + i / 1000))
    hub.publish_position(_pos("r2", 36.0))
    frames = _drain(sub)
    assert len(frames) == 1
    assert frames[0]["type"] == "positions"
    latest = {p["rider_id"]: p["lat"] for p in frames[0]["data"]}
    assert latest == {"r1": 35.099, "r2": 36.0}
    assert not sub.overflowed


def test_events_beyond_the_queue_size_mark_the_client_overflowed() -> None:
    """A client that cannot keep up is marked for closing, others are unaffected."""
    hub = Hub(queue_size=4)
    slow = hub.subscribe("dispatch", topics={DISPATCH_TOPIC})
    fast = hub.subscribe("dispatch", topics={DISPATCH_TOPIC})
    for i in range(3):
        hub.publish(DISPATCH_TOPIC, "order.placed", {"n": i})
    assert len(_drain(fast)) == 3
    for i in range(3, 6):
        hub.publish(DISPATCH_TOPIC, "order.placed", {"n": i})
    assert slow.overflowed
    assert not fast.overflowed
    assert [f["data"]["n"] for f in _drain(fast)] == [3, 4, 5]


def test_topics_isolate_audiences() -> None:
    """An order's patient feed gets only that order's frames."""
    hub = Hub()
    patient = hub.subscribe("patient", topics={order_topic("o-1")})
    hub.publish(order_topic("o-2"), "tracking.updated", {"status": "assigned"})
    hub.publish(DISPATCH_TOPIC, "order.placed", {"order_id": "o-1"})
    hub.publish_position(_pos("r1", 35.0))
    assert _drain(patient) == []
    hub.publish(order_topic("o-1"), "tracking.updated", {"status": "picked_up"})
    assert [f["data"] for f in _drain(patient)] == [{"status": "picked_up"}]


def test_followed_rider_positions_reach_only_followers() -> None:
    """A patient follows one rider's positions only while told to."""
    hub = Hub()
    patient = hub.subscribe("patient", topics={order_topic("o-1")})
    hub.follow_rider(patient, "r1")
    hub.publish_position(_pos("r1", 35.0))
    hub.publish_position(_pos("r2", 35.0))
    [frame] = _drain(patient)
    # where and when only: no internal rider id (issue 20, item 8)
    assert [(p["rider_id"], p["lat"]) for p in frame["data"]] == [(None, 35.0)]
    assert "r1" not in str(frame)
    hub.unfollow_rider(patient, "r1")
    hub.publish_position(_pos("r1", 35.1))
    assert _drain(patient) == []


def test_unsubscribe_removes_the_client_everywhere() -> None:
    """After unsubscribing, no frame is buffered for the client."""
    hub = Hub()
    sub = hub.subscribe(
        "dispatch", topics={DISPATCH_TOPIC}, all_positions=True, riders={"r1"}
    )
    hub.unsubscribe(sub)
    hub.publish(DISPATCH_TOPIC, "x", {})
    hub.publish_position(_pos("r1", 35.0))
    assert sub.pending() == 0
    assert hub.subscriber_count == 0
