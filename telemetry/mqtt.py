"""MQTT transport only (paho-mqtt 2.x): persistent session, manual acknowledgements.

``on_message`` only enqueues an :class:`~telemetry.model.InboundMessage`; the
ingest worker calls :meth:`MqttTransport.ack` after the batch is committed. Acks
for messages that arrived on an earlier connection are skipped: their packet ids
mean nothing now and the broker redelivers them on the persistent session.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt

from dispatch.clock import SystemClock
from dispatch.ports import Clock
from telemetry.model import InboundMessage

__all__ = ["BrokerAddress", "MqttTransport", "parse_mqtt_url"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Host, port, credentials and TLS flag from an ``mqtt://``/``mqtts://`` URL."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False


def parse_mqtt_url(url: str) -> BrokerAddress:
    """Split ``mqtt[s]://[user[:pass]@]host[:port]``."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError("MQTT URL must start with mqtt:// or mqtts://")
    tls = parts.scheme in ("mqtts", "ssl")
    return BrokerAddress(
        parts.hostname or "127.0.0.1",
        parts.port or (8883 if tls else 1883),
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
        tls,
    )


class MqttTransport:
    """A QoS 1 subscriber with a fixed client id and a persistent session."""

    def __init__(
        self,
        url: str,
        *,
        client_id: str,
        subscription: str,
        inbox: queue.Queue[InboundMessage],
        ca_file: str | None = None,
        keepalive_s: int = 30,
        clock: Clock | None = None,
    ) -> None:
        self.address = parse_mqtt_url(url)
        self.subscription = subscription
        self._inbox = inbox
        # business time: anchors the codec's future/age checks and last_received_at
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._generation = 0
        self._gen_lock = threading.Lock()
        self.connected = threading.Event()
        self._keepalive_s = keepalive_s
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        if self.address.username:
            client.username_pw_set(self.address.username, self.address.password)
        if self.address.tls:
            client.tls_set(ca_certs=ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.reconnect_delay_set(min_delay=1, max_delay=5)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client

    def _on_connect(
        self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any
    ) -> None:
        if reason.is_failure:
            log.warning("mqtt connect refused: %s", reason)
            return
        with self._gen_lock:
            self._generation += 1
        # subscribe on every connect so a reconnect renews it (paho README)
        client.subscribe(self.subscription, qos=1)
        self.connected.set()
        log.info("mqtt connected, subscribed to %s", self.subscription)

    def _on_disconnect(
        self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any
    ) -> None:
        self.connected.clear()
        log.info("mqtt disconnected: %s", reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._inbox.put(
            InboundMessage(
                msg.topic,
                bytes(msg.payload),
                self._clock.now(),
                msg.mid,
                msg.qos,
                self._generation,
            )
        )

    def start(self) -> None:
        """Connect in the background; paho's loop thread reconnects on its own."""
        self._client.connect_async(
            self.address.host, self.address.port, keepalive=self._keepalive_s
        )
        self._client.loop_start()

    def ack(self, messages: Sequence[InboundMessage]) -> int:
        """PUBACK the messages of the current connection; how many were acked."""
        with self._gen_lock:
            current = self._generation
        acked = 0
        for message in messages:
            if message.qos > 0 and message.generation == current:
                self._client.ack(message.mid, message.qos)
                acked += 1
        return acked

    def stop(self) -> None:
        """Disconnect (the broker keeps the session) and stop the loop thread."""
        self._client.disconnect()
        self._client.loop_stop()
