"""A minimal MQTT 3.1.1 QoS 1 publisher for load generation (benchmarks only).

One paho publisher tops out at about 5-7k QoS 1 messages/s on the benchmark
machine and would take the core the worker under test needs; this one encodes
PUBLISH packets itself, writes a tick's worth in one ``sendall`` and counts the
broker's PUBACKs on a reader thread. No reconnect, no retransmission: a run whose
connection drops fails loudly instead (the fault benchmark uses paho for that).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Sequence

from telemetry.mqtt import parse_mqtt_url

__all__ = ["RawPublisher"]

_U16 = struct.Struct("!H")


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _utf8(text: str) -> bytes:
    raw = text.encode()
    return _U16.pack(len(raw)) + raw


class RawPublisher:
    """QoS 1 publishing over one clean-session connection; ``acked`` counts PUBACKs."""

    def __init__(self, url: str, client_id: str, timeout_s: float = 10.0) -> None:
        addr = parse_mqtt_url(url)
        flags = 0x02 | (0xC0 if addr.username else 0)  # clean session, user + pass
        body = _utf8("MQTT") + bytes([4, flags]) + _U16.pack(0) + _utf8(client_id)
        if addr.username:
            body += _utf8(addr.username) + _utf8(addr.password or "")
        self._sock = socket.create_connection((addr.host, addr.port), timeout_s)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.sendall(b"\x10" + _varint(len(body)) + body)
        connack = self._sock.recv(4)
        if len(connack) != 4 or connack[0] != 0x20 or connack[3] != 0:
            raise ConnectionError(f"CONNACK refused: {connack!r}")
        self._sock.settimeout(None)
        self.acked = 0
        self.sent = 0
        self._mid = 0
        self._closed = False
        self._reader = threading.Thread(target=self._read_acks, daemon=True)
        self._reader.start()

    def _read_acks(self) -> None:
        pending = b""
        while True:
            try:
                data = self._sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            pending += data
            pos = 0
            # the broker sends this client only PUBACKs (4 bytes each)
            while len(pending) - pos >= 4:
                if pending[pos] == 0x40:
                    self.acked += 1
                pos += 2 + pending[pos + 1]
            pending = pending[pos:]

    def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Send ``(topic, payload)`` pairs at QoS 1 in one write."""
        parts = []
        mid = self._mid
        for topic, payload in messages:
            mid = mid % 65535 + 1
            variable = _utf8(topic) + _U16.pack(mid)
            parts.append(b"\x32" + _varint(len(variable) + len(payload)))
            parts.append(variable)
            parts.append(payload)
        self._mid = mid
        self._sock.sendall(b"".join(parts))
        self.sent += len(messages)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with contextlib.suppress(OSError):
                self._sock.sendall(b"\xe0\x00")  # DISCONNECT
            self._sock.close()
