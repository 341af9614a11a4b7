"""MQTT transport only (paho-mqtt 2.x): persistent session, manual acknowledgements.

Incoming PUBLISH packets become :class:`~telemetry.model.InboundMessage` tuples put
on the worker's inbox; nothing else happens on paho's network thread, so it never
waits on PostgreSQL. The ingest worker calls :meth:`MqttTransport.ack` after the
batch is committed. Acks for messages that arrived on an earlier connection are
skipped: their packet ids mean nothing now and the broker redelivers them on the
persistent session.

Profiling a drain showed paho's per-packet path, not the database, capping one
worker at about 10k messages/s: one ``select`` and three ``recv`` calls per
packet, an ``MQTTMessage`` and a topic-filter walk per message, and one socket
write per PUBACK. :class:`_IngestClient` removes those (buffered reads, a direct
MQTT 3.1.1 PUBLISH decode, all PUBACKs of a batch in one write); it relies on
paho 2.x internals (``_sock_recv``, ``_handle_publish``, ``_packet_queue``),
which is why ``pyproject.toml`` pins paho-mqtt below 3.
"""

from __future__ import annotations

import logging
import ssl
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt

from dispatch.clock import SystemClock
from dispatch.ports import Clock
from telemetry.model import InboundMessage

__all__ = ["BrokerAddress", "MqttTransport", "parse_mqtt_url"]

log = logging.getLogger(__name__)

_PUBACK = struct.Struct("!BBH")
_READ_CHUNK = 256 * 1024
TAKEOVER_WINDOW_S = 10.0
"""A connection the broker closes this soon after it opened counts as taken over."""
_STAMP_EVERY_S = 0.001  # arrival stamps are shared by messages read within 1 ms


class Inbox(Protocol):
    """Where the transport puts messages (``queue.SimpleQueue`` or ``Queue``)."""

    def put(self, item: InboundMessage, /) -> None: ...


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


#: (topic, payload, packet id, qos) of one received PUBLISH
PublishSink = Callable[[bytes, bytes, int, int], None]


class _IngestClient(mqtt.Client):
    """paho's client with a lean receive path for a high-rate QoS 1 subscriber."""

    def __init__(self, sink: PublishSink, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sink = sink
        self._rx = b""
        self._rx_pos = 0

    # One recv fills a buffer that paho's 1-byte/header/body reads are served from.
    def _sock_recv(self, bufsize: int) -> bytes:
        if self._rx_pos >= len(self._rx):
            data = super()._sock_recv(_READ_CHUNK)
            if len(data) <= bufsize:
                return data  # also b"" (connection closed)
            self._rx, self._rx_pos = data, 0
        start = self._rx_pos
        chunk = self._rx[start : start + bufsize]
        self._rx_pos = start + len(chunk)
        return chunk

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        """Handle every packet already buffered (select() cannot see them)."""
        rc = super().loop_read(max_packets)
        while (
            rc == mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
            and self._rx_pos < len(self._rx)
            and self._sock is not None
        ):
            if self._in_packet["command"] == 0 and self._take_publishes():
                continue
            rc = super().loop_read(max_packets)  # partial or other packet: paho
        return rc

    def _take_publishes(self) -> bool:
        """Hand complete QoS 0/1 PUBLISH packets at the head of the buffer to the
        sink (MQTT 3.1.1 layout); whether any was taken. Anything else, including
        a packet cut by the buffer's end or a malformed one, is left to paho."""
        if self._protocol != mqtt.MQTTv311:
            return False
        buf, end, sink = self._rx, len(self._rx), self._sink
        start = pos = self._rx_pos
        while pos < end:
            command = buf[pos]
            if command & 0xF0 != 0x30 or command & 0x06 > 0x02:
                break
            length, mult, i = 0, 1, pos + 1
            while i < end and i - pos <= 4:
                byte = buf[i]
                length += (byte & 127) * mult
                mult *= 128
                i += 1
                if not byte & 128:
                    break
            else:
                break  # length cut off or longer than 4 bytes
            packet_end = i + length
            qos = (command & 0x06) >> 1
            if packet_end > end or length < 2:
                break
            topic_end = i + 2 + ((buf[i] << 8) | buf[i + 1])
            body = topic_end + 2 * qos
            if body > packet_end:
                break
            mid = (buf[topic_end] << 8) | buf[topic_end + 1] if qos else 0
            sink(buf[i + 2 : topic_end], buf[body:packet_end], mid, qos)
            pos = packet_end
        if pos == start:
            return False
        self._rx_pos = pos
        with self._msgtime_mutex:  # what paho's keepalive check reads
            self._last_bytes_received = time.monotonic()
        return True

    def _sock_close(self) -> None:
        self._rx, self._rx_pos = b"", 0  # never parse a dead connection's bytes
        super()._sock_close()

    def _handle_publish(self) -> mqtt.MQTTErrorCode:
        command = self._in_packet["command"]
        qos = (command & 0x06) >> 1
        if qos > 1 or self._protocol != mqtt.MQTTv311:
            return super()._handle_publish()  # QoS 2 / MQTT 5: paho's full path
        packet = self._in_packet["packet"]
        end = 2 + ((packet[0] << 8) | packet[1])
        if qos:
            mid = (packet[end] << 8) | packet[end + 1]
            body = end + 2
        else:
            mid, body = 0, end
        self._sink(bytes(packet[2:end]), bytes(packet[body:]), mid, qos)
        return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS

    def ack_many(self, mids: Sequence[int]) -> None:
        """PUBACK all ``mids`` in one queued write (one wake-up, one send)."""
        if mids:
            packet = b"".join([_PUBACK.pack(0x40, 2, mid) for mid in mids])
            self._packet_queue(0x40, packet, 0, 0)


class MqttTransport:
    """A QoS 1 subscriber with a fixed client id and a persistent session."""

    def __init__(
        self,
        url: str,
        *,
        client_id: str,
        subscription: str,
        inbox: Inbox,
        ca_file: str | None = None,
        keepalive_s: int = 30,
        clock: Clock | None = None,
    ) -> None:
        self.address = parse_mqtt_url(url)
        self.subscription = subscription
        self._put = inbox.put
        # business time: anchors the codec's future/age checks and last_received_at
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._stamp: datetime = self._clock.now()
        self._stamp_t = float("-inf")
        self._generation = 0
        self._gen_lock = threading.Lock()
        self.connected = threading.Event()
        # set once the broker acknowledged the subscription of this connection:
        # messages published from then on reach the inbox (until a disconnect)
        self.subscribed = threading.Event()
        self._keepalive_s = keepalive_s
        self.client_id = client_id
        self._connected_at: float | None = None
        self._stopping = False
        self.takeovers = 0
        """Connections the broker closed soon after they opened: with MQTT 3.1.1
        the broker closes a session without a reason when another client connects
        with the same id, and two such workers knock each other off every second."""
        client = _IngestClient(
            self._on_publish,
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
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
        client.on_subscribe = self._on_subscribe
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
        self._connected_at = time.monotonic()
        # subscribe on every connect so a reconnect renews it (paho README)
        client.subscribe(self.subscription, qos=1)
        self.connected.set()
        log.info("mqtt connected, subscribed to %s", self.subscription)

    def _on_subscribe(
        self, _c: mqtt.Client, _u: Any, _mid: int, reasons: list[Any], _p: Any
    ) -> None:
        if any(reason.is_failure for reason in reasons):
            log.warning("mqtt subscription to %s refused", self.subscription)
            return
        self.subscribed.set()

    def _on_disconnect(
        self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any
    ) -> None:
        with self._gen_lock:  # acks still queued for the old connection are void
            self._generation += 1
        self.connected.clear()
        self.subscribed.clear()
        lasted_s = (
            time.monotonic() - self._connected_at
            if self._connected_at is not None
            else None
        )
        self._connected_at = None
        if (
            not self._stopping
            and lasted_s is not None
            and lasted_s < TAKEOVER_WINDOW_S
            and getattr(reason, "is_failure", True)
        ):
            self.takeovers += 1
            log.warning(
                "mqtt session closed by the broker %.1f s after connecting: another "
                "client is probably using client id %s (a session takeover); give "
                "every ingest worker its own TELEMETRY_CLIENT_ID",
                lasted_s,
                self.client_id,
                extra={"client_id": self.client_id, "takeovers": self.takeovers},
            )
            return
        log.info("mqtt disconnected: %s", reason)

    def _on_publish(self, topic: bytes, payload: bytes, mid: int, qos: int) -> None:
        now = time.monotonic()
        if now - self._stamp_t > _STAMP_EVERY_S:
            self._stamp, self._stamp_t = self._clock.now(), now
        self._put(
            InboundMessage(
                topic.decode("utf-8", "replace"),
                payload,
                self._stamp,
                mid,
                qos,
                self._generation,
            )
        )

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        """paho's path (QoS 2, MQTT 5): same hand-off as the fast path."""
        self._on_publish(msg._topic, bytes(msg.payload), msg.mid, msg.qos)

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
            mids = [m.mid for m in messages if m.qos == 1 and m.generation == current]
            self._client.ack_many(mids)
        for message in messages:  # QoS 2 (not subscribed for, but be correct)
            if message.qos == 2 and message.generation == current:
                self._client.ack(message.mid, 2)
        return len(mids)

    def stop(self) -> None:
        """Disconnect (the broker keeps the session) and stop the loop thread."""
        self._stopping = True
        self._client.disconnect()
        self._client.loop_stop()
