"""The MQTT transport stamps arrival with the business clock it is given."""

from __future__ import annotations

import queue
from datetime import UTC, datetime

import paho.mqtt.client as mqtt

from telemetry.model import InboundMessage
from telemetry.mqtt import MqttTransport

BUSINESS_NOW = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)


class _Fixed:
    def now(self) -> datetime:
        return BUSINESS_NOW


def test_arrival_time_comes_from_the_clock() -> None:
    """``received_at`` (which anchors the codec's future/age checks) is the
    clock's now, not the wall clock's."""
    inbox: queue.Queue[InboundMessage] = queue.Queue()
    transport = MqttTransport(
        "mqtt://127.0.0.1:1",
        client_id="t",
        subscription="x/#",
        inbox=inbox,
        clock=_Fixed(),
    )
    message = mqtt.MQTTMessage(mid=7, topic=b"rxdispatch/v1/boxes/b/telemetry")
    message.payload = b"{}"
    message.qos = 1
    transport._on_message(transport._client, None, message)
    inbound = inbox.get_nowait()
    assert inbound.received_at == BUSINESS_NOW
    assert inbound.mid == 7
