"""The shipped mosquitto config: per-box passwords, topic ACL, TLS, shared
subscriptions — on a private broker started from ``deploy/mosquitto``."""

from __future__ import annotations

import contextlib
import queue
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from telemetry.model import InboundMessage
from telemetry.mqtt import MqttTransport, parse_mqtt_url
from telemetry.topics import subscription_filter, telemetry_topic

from .helpers import WAIT_S
from .private_mosquitto import PrivateMosquitto, mosquitto_binary

pytestmark = [
    pytest.mark.mosquitto,
    pytest.mark.skipif(mosquitto_binary() is None, reason="no mosquitto binary"),
]

USERS = {"rxdispatch-ingest": "ingest-pw", "box-0001": "box1-pw", "box-0002": "box2-pw"}


@pytest.fixture(scope="module")
def broker() -> Iterator[PrivateMosquitto]:
    with PrivateMosquitto(USERS, tls=True) as mosq:
        yield mosq


def _subscriber(
    url: str, client_id: str, share: str | None = None, ca: Path | None = None
):
    inbox: queue.Queue[InboundMessage] = queue.Queue()
    transport = MqttTransport(
        url,
        client_id=client_id,
        subscription=subscription_filter(share_group=share),
        inbox=inbox,
        ca_file=str(ca) if ca else None,
    )
    transport.start()
    # until the broker acknowledged the subscription, messages would not reach it
    assert transport.subscribed.wait(WAIT_S), "no SUBACK"
    return transport, inbox


def _client(
    url: str, client_id: str, ca: Path | None = None
) -> tuple[mqtt.Client, Any]:
    addr = parse_mqtt_url(url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    client.username_pw_set(addr.username, addr.password)
    if addr.tls:
        client.tls_set(ca_certs=str(ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)
    result: dict[str, Any] = {}
    done = threading.Event()

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        result["reason"] = reason
        done.set()

    client.on_connect = on_connect
    client.connect(addr.host, addr.port)
    client.loop_start()
    assert done.wait(WAIT_S)
    return client, result["reason"]


def _drain(inbox: queue.Queue[InboundMessage], wait_s: float) -> list[InboundMessage]:
    got = []
    try:
        while True:
            got.append(inbox.get(timeout=wait_s))
    except queue.Empty:
        return got


def _receive(
    inboxes: list[queue.Queue[InboundMessage]], n: int
) -> list[list[InboundMessage]]:
    """What each inbox received once ``n`` messages arrived in all (fails after
    ``WAIT_S``), then whatever else arrives while the inboxes stay quiet for 0.5 s
    (a message that should not have come shows up here)."""
    got: list[list[InboundMessage]] = [[] for _ in inboxes]
    deadline = time.monotonic() + WAIT_S
    while sum(map(len, got)) < n:
        assert time.monotonic() < deadline, f"{sum(map(len, got))} of {n} arrived"
        for inbox, into in zip(inboxes, got, strict=True):
            with contextlib.suppress(queue.Empty):
                into.append(inbox.get(timeout=0.05))
    for inbox, into in zip(inboxes, got, strict=True):
        into += _drain(inbox, 0.5)
    return got


def test_wrong_password_and_anonymous_are_refused(broker: PrivateMosquitto) -> None:
    """Only known users with their password may connect."""
    client, reason = _client(broker.url("box-0001", "wrong"), "bad-pw")
    client.loop_stop()
    assert reason.is_failure
    anon = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="anon")
    refused = threading.Event()
    anon.on_connect = lambda *a: refused.set() if a[3].is_failure else None
    anon.connect("127.0.0.1", broker.port)
    anon.loop_start()
    assert refused.wait(WAIT_S)
    anon.loop_stop()


def test_box_may_publish_only_to_its_own_topic(broker: PrivateMosquitto) -> None:
    """box-0001's message on box-0002's topic is dropped by the ACL; its own arrives."""
    transport, inbox = _subscriber(
        broker.url("rxdispatch-ingest", "ingest-pw"), "acl-sub"
    )
    box, _ = _client(broker.url("box-0001", "box1-pw"), "box-0001")
    try:
        box.publish(telemetry_topic("box-0002"), b"spoofed", qos=1)
        box.publish(telemetry_topic("box-0001"), b"own", qos=1)
        # one message is due; had the spoofed one passed, it would come first
        [got] = _receive([inbox], 1)
        assert [(m.topic, m.payload) for m in got] == [
            (telemetry_topic("box-0001"), b"own")
        ]
        transport.ack(got)
    finally:
        box.loop_stop()
        transport.stop()


def test_tls_listener_with_test_ca(broker: PrivateMosquitto) -> None:
    """A box connects over TLS with the CA and its password; its readings arrive."""
    pki = broker.tls_files
    transport, inbox = _subscriber(
        broker.url("rxdispatch-ingest", "ingest-pw"), "tls-sub"
    )
    box, reason = _client(
        broker.url("box-0002", "box2-pw", tls=True), "box-0002", pki["cafile"]
    )
    try:
        assert not reason.is_failure
        box.publish(telemetry_topic("box-0002"), b"over tls", qos=1)
        [got] = _receive([inbox], 1)
        assert [m.payload for m in got] == [b"over tls"]
        transport.ack(got)
    finally:
        box.loop_stop()
        transport.stop()


def test_shared_subscription_splits_messages_between_workers(
    broker: PrivateMosquitto,
) -> None:
    """Two workers in one $share group receive disjoint parts of all messages."""
    url = broker.url("rxdispatch-ingest", "ingest-pw")
    first, inbox1 = _subscriber(url, "share-1", share="ingest")
    second, inbox2 = _subscriber(url, "share-2", share="ingest")
    box, _ = _client(broker.url("box-0001", "box1-pw"), "box-0001-share")
    try:
        for i in range(40):
            box.publish(telemetry_topic("box-0001"), str(i).encode(), qos=1)
        got1, got2 = _receive([inbox1, inbox2], 40)
        payloads1 = {m.payload for m in got1}
        payloads2 = {m.payload for m in got2}
        assert payloads1
        assert payloads2
        assert not payloads1 & payloads2
        assert len(payloads1 | payloads2) == 40
        first.ack(got1)
        second.ack(got2)
    finally:
        box.loop_stop()
        first.stop()
        second.stop()


def test_an_oversized_packet_never_reaches_the_worker(broker: PrivateMosquitto) -> None:
    """Issue 20, item 9: a 2 MB payload is refused by the broker (max_packet_size,
    sized from the decoder's limit), so no worker reads it into memory; a payload
    at the decoder's limit still arrives."""
    from telemetry.codec import CodecLimits

    transport, inbox = _subscriber(
        broker.url("rxdispatch-ingest", "ingest-pw"), "size-sub"
    )
    try:
        box, _ = _client(broker.url("box-0001", "box1-pw"), "box-0001-big")
        box.publish(telemetry_topic("box-0001"), b"x" * 2_000_000, qos=1)
        box.loop_stop()
        box, _ = _client(broker.url("box-0001", "box1-pw"), "box-0001-max")
        at_limit = b"y" * CodecLimits().max_payload_bytes
        box.publish(telemetry_topic("box-0001"), at_limit, qos=1)
        [got] = _receive([inbox], 1)
        assert [len(m.payload) for m in got] == [len(at_limit)]
        transport.ack(got)
        box.loop_stop()
    finally:
        transport.stop()
