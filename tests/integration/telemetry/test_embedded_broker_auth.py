"""The embedded broker refuses anonymous and wrong credentials."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pytest

from telemetry.embedded_broker import EmbeddedBroker

pytestmark = pytest.mark.integration


def _connect(port: int, username: str | None, password: str | None) -> int:
    """The CONNACK reason code (0 = accepted); generous wait for slow hosts."""
    done = threading.Event()
    codes: list[int] = []

    def on_connect(
        client: mqtt.Client,
        _u: object,
        _f: object,
        rc: mqtt.ReasonCode,
        _p: object,
    ) -> None:
        codes.append(int(rc.value))
        done.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    if username is not None:
        client.username_pw_set(username, password)
    client.on_connect = on_connect
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        assert done.wait(60), "no CONNACK"
    finally:
        client.loop_stop()
        client.disconnect()
    return codes[0]


def test_only_the_brokers_own_credentials_connect() -> None:
    """Anyone on the host could publish a fake excursion to the embedded broker;
    now anonymous clients and wrong passwords are refused, and the URL the
    broker hands to its clients (ingest, simulator) carries what works."""
    with EmbeddedBroker(password="s3cret-for-this-test-only-xyz") as broker:
        url = urlsplit(broker.url)
        assert (url.username, url.password) == (
            "rxdispatch",
            "s3cret-for-this-test-only-xyz",
        )
        assert _connect(broker.port, None, None) != 0
        assert _connect(broker.port, "rxdispatch", "wrong") != 0
        assert _connect(broker.port, "rxdispatch", "s3cret-for-this-test-only-xyz") == 0


def test_a_broker_without_a_given_password_makes_a_random_one() -> None:
    """Two brokers never share a guessable default."""
    assert EmbeddedBroker().password != EmbeddedBroker().password
