"""A rejected hold tells the patient's open feed that the order was replaced."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from api.live.hub import Hub, order_topic
from api.live.publisher import HubEventPublisher
from dispatch.events import HoldRejected


def test_hold_rejected_pushes_replaced_to_the_original_orders_feed() -> None:
    """Each original order's feed gets status "replaced"; unrelated feeds nothing."""
    hub = Hub(queue_size=8)
    patient = hub.subscribe("patient", topics={order_topic("o-1")})
    other = hub.subscribe("patient", topics={order_topic("o-9")})
    publisher = HubEventPublisher(hub)
    try:
        publisher.publish(HoldRejected(7, (("o-1", "o-2"),)))
    finally:
        publisher.close()

    def frames(sub: Any) -> list[dict[str, Any]]:
        return [orjson.loads(f) for f in asyncio.run(sub.next_frames(0.01))]

    got = frames(patient)
    assert [(f["type"], f["data"]) for f in got] == [
        ("tracking.updated", {"status": "replaced"})
    ]
    assert frames(other) == []
