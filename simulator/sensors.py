"""Cold-box loggers: a reading every 30 s, buffered while offline, sent over MQTT.

:class:`BoxSensor` is the logger's logic (sequence numbers, sensor noise,
battery, store-and-forward) and does no I/O; :class:`MqttPublisher` is the
uplink (paho-mqtt 2.x, QoS 1) shared by all simulated boxes.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

from simulator.wire import (
    QOS,
    TOPIC_PREFIX,
    Reading,
    TimestampFormat,
    encode_payload,
    telemetry_topic,
)

__all__ = ["READING_INTERVAL_S", "BoxSensor", "MqttPublisher", "Outgoing"]

log = logging.getLogger(__name__)

READING_INTERVAL_S = 30.0
_MAX_BUFFERED = 20_000  # ~7 days at 30 s: a real logger's flash, roughly
_MAX_PER_MESSAGE = 200
_BATTERY_DRAIN_PCT_PER_READING = 0.002


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message ready for the broker."""

    topic: str
    payload: bytes
    readings: int


@dataclass
class BoxSensor:
    """The logger in one cold box; ``online`` is its uplink state."""

    box_id: str
    rng: random.Random
    noise_c: float = 0.1
    ts_format: TimestampFormat = TimestampFormat.RFC3339
    topic_prefix: str = TOPIC_PREFIX
    online: bool = True
    # Added to device timestamps: the system's clock minus simulated time.
    clock_offset: timedelta = timedelta(0)
    battery_pct: float = 100.0
    next_seq: int = 1
    buffer: deque[Reading] = field(default_factory=deque)
    dropped: int = 0

    def read(
        self,
        at: datetime,
        true_temp_c: float,
        *,
        door_open: bool,
        position: tuple[float, float] | None,
    ) -> list[Outgoing]:
        """Take a reading at ``at``; return what to publish now (none if offline)."""
        measured = round(true_temp_c + self.rng.gauss(0.0, self.noise_c), 2)
        self.battery_pct = max(0.0, self.battery_pct - _BATTERY_DRAIN_PCT_PER_READING)
        reading = Reading(
            seq=self.next_seq,
            recorded_at=at + self.clock_offset,
            temp_c=measured,
            battery_pct=self.battery_pct,
            door_open=door_open,
            lat=position[0] if position else None,
            lon=position[1] if position else None,
        )
        self.next_seq += 1
        if len(self.buffer) >= _MAX_BUFFERED:
            self.buffer.popleft()
            self.dropped += 1
        self.buffer.append(reading)
        return self.drain() if self.online else []

    def drain(self) -> list[Outgoing]:
        """Everything buffered, oldest first, in arrays of at most 200 readings."""
        topic = telemetry_topic(self.box_id, self.topic_prefix)
        messages = []
        while self.buffer:
            count = min(len(self.buffer), _MAX_PER_MESSAGE)
            chunk = [self.buffer.popleft() for _ in range(count)]
            messages.append(
                Outgoing(topic, encode_payload(chunk, self.ts_format), count)
            )
        return messages


class MqttPublisher:
    """One paho client publishing every box's messages at QoS 1."""

    def __init__(self, url: str, *, client_id: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"mqtt", "mqtts"} or not parts.hostname:
            raise ValueError(
                f"MQTT URL must be mqtt://host[:port], got scheme {parts.scheme!r}"
            )
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
        )
        if parts.username:
            self._client.username_pw_set(parts.username, parts.password)
        if parts.scheme == "mqtts":
            self._client.tls_set()
        self._client.max_inflight_messages_set(100)
        self._host = parts.hostname
        self._port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        self._pending: set[int] = set()
        self._acked_early: set[int] = set()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self.published = 0
        self._client.on_publish = self._on_publish

    def start(self) -> None:
        """Connect in the background (paho reconnects on its own)."""
        self._client.connect_async(self._host, self._port, keepalive=30)
        self._client.loop_start()

    def publish(self, message: Outgoing) -> None:
        """Queue a message; QoS 1 keeps it until the broker acknowledges it."""
        # Never hold our lock inside paho: it calls on_publish under its own lock.
        info = self._client.publish(message.topic, message.payload, qos=QOS)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            raise RuntimeError("MQTT client queue is full")
        with self._lock:
            if info.mid in self._acked_early:
                self._acked_early.discard(info.mid)
            else:
                self._pending.add(info.mid)

    def flush(self, timeout_s: float) -> bool:
        """Wait until the broker acknowledged everything; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._pending, timeout=timeout_s)

    def stop(self) -> None:
        """Disconnect and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_code: mqtt.ReasonCode,
        properties: mqtt.Properties,
    ) -> None:
        with self._idle:
            if mid in self._pending:
                self._pending.discard(mid)
            else:
                self._acked_early.add(mid)
            self.published += 1
            self._idle.notify_all()
