"""A rider's dropped next stop reaches the dispatchers' feed as an alert."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from api.live.hub import DISPATCH_TOPIC, Hub, order_topic
from api.live.publisher import HubEventPublisher
from dispatch.events import RiderStopReleased


def test_a_released_stop_is_an_alert_for_dispatchers_only() -> None:
    """The dispatch feed gets an ``alert`` naming rider, order and why; the
    order's patient feed gets nothing (the rider's route refreshes on the plan)."""
    hub = Hub(queue_size=8)
    dispatcher = hub.subscribe("dispatcher", topics={DISPATCH_TOPIC})
    patient = hub.subscribe("patient", topics={order_topic("o-1")})
    publisher = HubEventPublisher(hub)
    try:
        publisher.publish(RiderStopReleased("r-1", "o-1", "'r-1' lacks skills"))
    finally:
        publisher.close()

    def frames(sub: Any) -> list[dict[str, Any]]:
        return [orjson.loads(f) for f in asyncio.run(sub.next_frames(0.01))]

    assert [(f["type"], f["data"]) for f in frames(dispatcher)] == [
        (
            "alert",
            {
                "kind": "rider.stop_released",
                "type": "rider.stop_released",
                "rider_id": "r-1",
                "order_id": "o-1",
                "detail": "'r-1' lacks skills",
                "alert_id": "rider.stop_released:r-1:o-1",
            },
        )
    ]
    assert frames(patient) == []
