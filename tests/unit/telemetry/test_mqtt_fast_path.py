"""The transport's lean receive path: PUBLISH packets parsed straight from the read
buffer, anything else (cut packets, other types) left to paho; batched PUBACKs."""

from __future__ import annotations

import struct

import paho.mqtt.client as mqtt

from telemetry.mqtt import _IngestClient


def _publish(topic: str, payload: bytes, mid: int, qos: int = 1) -> bytes:
    variable = struct.pack("!H", len(topic)) + topic.encode()
    if qos:
        variable += struct.pack("!H", mid)
    body = variable + payload
    length, out = len(body), bytearray()
    while True:  # MQTT variable-length integer
        byte, length = length % 128, length // 128
        out.append(byte | (0x80 if length else 0))
        if not length:
            break
    return bytes([0x30 | (qos << 1)]) + bytes(out) + body


def _client() -> tuple[_IngestClient, list[tuple[bytes, bytes, int, int]]]:
    got: list[tuple[bytes, bytes, int, int]] = []
    client = _IngestClient(
        lambda *m: got.append(m),
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id="t",
        clean_session=False,
        protocol=mqtt.MQTTv311,
        manual_ack=True,
    )
    return client, got


def test_complete_publishes_are_taken_and_a_cut_one_is_left() -> None:
    """QoS 1 and QoS 0 packets (one with a 2-byte length) reach the sink in
    order; the last packet, cut by the buffer's end, stays for paho."""
    client, got = _client()
    big = b"x" * 300  # remaining length needs two bytes
    first = _publish("rxdispatch/v1/boxes/b1/telemetry", b'{"seq":1}', 7)
    second = _publish("rxdispatch/v1/boxes/b2/telemetry", big, 0, qos=0)
    cut = _publish("rxdispatch/v1/boxes/b3/telemetry", b'{"seq":3}', 9)[:10]
    client._rx = first + second + cut
    assert client._take_publishes()
    assert got == [
        (b"rxdispatch/v1/boxes/b1/telemetry", b'{"seq":1}', 7, 1),
        (b"rxdispatch/v1/boxes/b2/telemetry", big, 0, 0),
    ]
    assert client._rx[client._rx_pos :] == cut
    assert not client._take_publishes()  # nothing complete left


def test_other_packets_and_qos2_are_left_to_paho() -> None:
    """A PINGRESP or a QoS 2 PUBLISH at the head stops the fast path at once."""
    client, got = _client()
    client._rx = b"\xd0\x00" + _publish("t/x", b"p", 1)
    assert not client._take_publishes()
    client._rx, client._rx_pos = _publish("t/x", b"p", 1, qos=2), 0
    assert not client._take_publishes()
    assert got == []


def test_malformed_topic_length_is_left_to_paho() -> None:
    """A topic length pointing past the packet is not parsed here."""
    client, got = _client()
    client._rx = b"\x32\x04\x00\x09ab"  # says 9-byte topic, packet holds 2
    assert not client._take_publishes()
    assert got == []


def test_acks_of_a_batch_go_out_as_one_write() -> None:
    """ack_many queues one packet holding every PUBACK, in order."""
    client, _ = _client()
    client.ack_many([1, 258, 65535])
    (packet,) = client._out_packet
    assert packet["packet"] == bytes.fromhex("40020001400201024002ffff")
    client.ack_many([])
    assert len(client._out_packet) == 1
