"""Cold-box loggers: a reading every 30 s, buffered while offline, sent over MQTT.

:class:`BoxSensor` is the logger's logic (sequence numbers, sensor noise,
battery, store-and-forward, a ring buffer of sent readings it can resend) and
does no I/O; :class:`MqttPublisher` is the uplink (paho-mqtt 2.x, QoS 1) shared
by all simulated boxes, which also answers the server's resend requests
(``<prefix>/boxes/<box>/resend``): it republishes the range from the box's ring
buffer, and answers ``not_held`` for what fell off it.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

from simulator.wire import (
    QOS,
    TOPIC_PREFIX,
    Reading,
    TimestampFormat,
    box_of_resend_topic,
    decode_resend,
    encode_not_held,
    encode_payload,
    resend_filter,
    telemetry_topic,
)

__all__ = ["READING_INTERVAL_S", "BoxSensor", "MqttPublisher", "Outgoing"]

log = logging.getLogger(__name__)

READING_INTERVAL_S = 30.0
_MAX_BUFFERED = 20_000  # ~7 days at 30 s: a real logger's flash, roughly
_MAX_PER_MESSAGE = 200
RING_SIZE = 2880  # sent readings kept for resend requests: a day at 30 s
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
    ring_size: int = RING_SIZE
    # sent readings, newest last, for resend requests (bounded by ring_size)
    held: deque[Reading] = field(init=False, repr=False)
    resent: int = 0
    not_held: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.ring_size < 0:
            raise ValueError("ring_size must not be negative")
        self.held = deque(maxlen=self.ring_size)

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
        with self._lock:
            self.next_seq += 1
            if len(self.buffer) >= _MAX_BUFFERED:
                self.buffer.popleft()
                self.dropped += 1
            self.buffer.append(reading)
            return self._drain() if self.online else []

    def drain(self) -> list[Outgoing]:
        """Everything buffered, oldest first, in arrays of at most 200 readings."""
        with self._lock:
            return self._drain()

    def _drain(self) -> list[Outgoing]:
        messages = []
        while self.buffer:
            count = min(len(self.buffer), _MAX_PER_MESSAGE)
            chunk = [self.buffer.popleft() for _ in range(count)]
            self.held.extend(chunk)
            messages.append(self._message(chunk))
        return messages

    def _message(self, chunk: list[Reading]) -> Outgoing:
        topic = telemetry_topic(self.box_id, self.topic_prefix)
        return Outgoing(topic, encode_payload(chunk, self.ts_format), len(chunk))

    def resend(self, from_seq: int, to_seq: int) -> list[Outgoing]:
        """Answer a resend request: the held readings of ``from_seq..to_seq``
        again, and one ``not_held`` message for the part of the range that fell
        off the ring buffer. Seqs still waiting in the store-and-forward buffer go
        out with it; seqs never taken are ignored."""
        with self._lock:
            held = [r for r in self.held if from_seq <= r.seq <= to_seq]
            oldest = self.held[0].seq if self.held else None
            if oldest is None:  # nothing sent is held: all sent so far is gone
                waiting = self.buffer[0].seq if self.buffer else self.next_seq
                gone_to = min(to_seq, waiting - 1)
            else:
                gone_to = min(to_seq, oldest - 1)
            messages = [
                self._message(held[i : i + _MAX_PER_MESSAGE])
                for i in range(0, len(held), _MAX_PER_MESSAGE)
            ]
            self.resent += len(held)
            if from_seq <= gone_to:
                self.not_held += gone_to - from_seq + 1
                topic = telemetry_topic(self.box_id, self.topic_prefix)
                messages.append(Outgoing(topic, encode_not_held(from_seq, gone_to), 0))
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
        self.resend_requests = 0
        # set once the broker acknowledged the resend subscription of this connection
        self.answering = threading.Event()
        self._client.on_publish = self._on_publish
        self._resend_filter: str | None = None
        self._prefix = TOPIC_PREFIX
        self._sensor_of: Callable[[str], BoxSensor | None] = lambda _box: None

    def answer_resends(
        self, sensor_of: Callable[[str], BoxSensor | None], prefix: str = TOPIC_PREFIX
    ) -> None:
        """Subscribe (on every connect) to the boxes' resend topics and answer
        each request from ``sensor_of(box_id)``'s ring buffer; call before
        :meth:`start`."""
        self._prefix = prefix
        self._resend_filter = resend_filter(prefix)
        self._sensor_of = sensor_of
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    def _on_connect(
        self, client: mqtt.Client, _u: object, _f: object, _rc: object, _p: object
    ) -> None:
        if self._resend_filter is not None:
            client.subscribe(self._resend_filter, qos=QOS)

    def _on_subscribe(
        self,
        _c: mqtt.Client,
        _u: object,
        _mid: int,
        codes: list[mqtt.ReasonCode],
        _p: object,
    ) -> None:
        if codes and not codes[0].is_failure:
            self.answering.set()
        else:
            log.warning("the broker refused the resend subscription")

    def _on_disconnect(self, *_: object) -> None:
        self.answering.clear()

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        box = box_of_resend_topic(msg.topic, self._prefix)
        sensor = self._sensor_of(box) if box is not None else None
        if sensor is None:
            return
        try:
            from_seq, to_seq = decode_resend(bytes(msg.payload))
        except ValueError:
            log.warning("ignored a malformed resend request for one box")
            return
        self.resend_requests += 1
        for message in sensor.resend(from_seq, to_seq):
            self.publish(message)

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
