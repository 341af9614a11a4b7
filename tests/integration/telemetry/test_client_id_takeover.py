"""Two ingest workers with one MQTT client id knock each other off the broker;
that is now logged clearly and counted (issue 20, item 9), and the default
client id differs per host."""

from __future__ import annotations

import logging
import queue
import time

import pytest

from telemetry.model import InboundMessage
from telemetry.mqtt import MqttTransport
from telemetry.settings import TelemetrySettings
from telemetry.topics import subscription_filter

from .helpers import WAIT_S


def _transport(url: str, client_id: str, prefix: str) -> MqttTransport:
    inbox: queue.Queue[InboundMessage] = queue.Queue()
    return MqttTransport(
        url,
        client_id=client_id,
        subscription=subscription_filter(prefix),
        inbox=inbox,
        keepalive_s=5,
    )


def test_a_taken_over_session_is_logged_and_counted(
    mqtt_url: str, unique_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    client_id = f"ingest-{unique_id}"
    prefix = f"t/{unique_id}"
    first = _transport(mqtt_url, client_id, prefix)
    second = _transport(mqtt_url, client_id, prefix)
    caplog.set_level(logging.WARNING, logger="telemetry.mqtt")
    first.start()
    try:
        assert first.subscribed.wait(WAIT_S)
        second.start()  # the broker closes the first one's connection
        deadline = time.monotonic() + WAIT_S
        while first.takeovers + second.takeovers == 0:
            assert time.monotonic() < deadline, "no takeover noticed"
            time.sleep(0.05)
    finally:
        second.stop()
        first.stop()
    [record, *_] = [r for r in caplog.records if "client id" in r.getMessage()]
    assert client_id in record.getMessage()
    assert "TELEMETRY_CLIENT_ID" in record.getMessage()


def test_a_clean_stop_is_not_a_takeover(mqtt_url: str, unique_id: str) -> None:
    transport = _transport(mqtt_url, f"ingest-{unique_id}", f"t/{unique_id}")
    transport.start()
    assert transport.subscribed.wait(WAIT_S)
    transport.stop()
    assert transport.takeovers == 0


def test_the_default_client_id_names_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEMETRY_CLIENT_ID", raising=False)
    monkeypatch.setattr("socket.gethostname", lambda: "depot_02.local")
    assert (
        TelemetrySettings().effective_client_id() == "rxdispatch-ingest-depot-02-local"
    )
    explicit = TelemetrySettings(client_id="ingest-a")
    assert explicit.effective_client_id() == "ingest-a"
