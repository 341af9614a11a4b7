"""Box loggers number their readings and store and forward while offline."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from simulator.sensors import BoxSensor, MqttPublisher

T0 = datetime(2026, 6, 15, 8, tzinfo=UTC)


def _sensor() -> BoxSensor:
    return BoxSensor("box-1", random.Random(1))


def _read(sensor: BoxSensor, i: int) -> list[bytes]:
    messages = sensor.read(
        T0 + timedelta(seconds=30 * i), 5.0, door_open=False, position=(35.9, 14.5)
    )
    return [m.payload for m in messages]


def test_online_sensor_sends_each_reading_as_an_object() -> None:
    """Online, every reading leaves at once with consecutive sequence numbers."""
    sensor = _sensor()
    sent = [orjson.loads(p) for i in range(3) for p in _read(sensor, i)]
    assert [body["seq"] for body in sent] == [1, 2, 3]
    assert all(abs(body["temp_c"] - 5.0) < 0.6 for body in sent)
    assert all(body["lat"] == 35.9 and body["door_open"] is False for body in sent)
    assert sensor.battery_pct < 100.0


def test_offline_sensor_buffers_then_sends_the_backlog_as_an_array() -> None:
    """Readings taken offline are kept and sent, in order, in one array later."""
    sensor = _sensor()
    _read(sensor, 0)
    sensor.online = False
    assert [_read(sensor, i) for i in (1, 2, 3)] == [[], [], []]
    sensor.online = True
    (payload,) = _read(sensor, 4)
    backlog = orjson.loads(payload)
    assert [item["seq"] for item in backlog] == [2, 3, 4, 5]
    assert backlog[0]["ts"] == "2026-06-15T08:00:30.000Z"


def test_long_backlogs_are_split_into_bounded_messages() -> None:
    """A day offline leaves as several arrays of at most 200 readings each."""
    sensor = _sensor()
    sensor.online = False
    for i in range(450):
        _read(sensor, i)
    sizes = [m.readings for m in sensor.drain()]
    assert sizes == [200, 200, 50]
    assert not sensor.buffer


def test_publisher_refuses_non_mqtt_urls() -> None:
    """Only mqtt:// and mqtts:// URLs are accepted."""
    with pytest.raises(ValueError, match="mqtt://"):
        MqttPublisher("http://localhost:1883", client_id="sim")


def _seqs(payload: bytes) -> list[int]:
    doc = orjson.loads(payload)
    return [r["seq"] for r in (doc if isinstance(doc, list) else [doc])]


def test_a_resend_request_republishes_the_held_range() -> None:
    sensor = _sensor()
    for i in range(10):
        _read(sensor, i)
    (message,) = sensor.resend(4, 6)
    assert message.topic == "rxdispatch/v1/boxes/box-1/telemetry"
    assert _seqs(message.payload) == [4, 5, 6]
    assert message.readings == 3
    assert sensor.resent == 3
    assert sensor.not_held == 0


def test_what_fell_off_the_ring_buffer_is_answered_not_held() -> None:
    sensor = BoxSensor("box-1", random.Random(1), ring_size=3)
    for i in range(10):  # seqs 1..10; 8, 9 and 10 are still held
        _read(sensor, i)
    resent, gone = sensor.resend(5, 9)
    assert _seqs(resent.payload) == [8, 9]
    assert orjson.loads(gone.payload) == {"not_held": {"from_seq": 5, "to_seq": 7}}
    assert sensor.not_held == 3
    # a range entirely gone gets only the answer; seqs never taken are ignored
    (only,) = sensor.resend(1, 2)
    assert orjson.loads(only.payload) == {"not_held": {"from_seq": 1, "to_seq": 2}}
    assert sensor.resend(11, 20) == []
