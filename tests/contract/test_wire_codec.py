"""The simulator's payloads decode with telemetry's codec (two readings of one spec)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.sensors import BoxSensor
from simulator.wire import Reading, TimestampFormat, encode_payload, telemetry_topic
from telemetry.codec import decode_payload
from telemetry.model import BoxId
from telemetry.topics import box_id_from_topic

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)

readings = st.builds(
    Reading,
    seq=st.integers(min_value=0, max_value=2**40),
    recorded_at=st.datetimes(
        min_value=datetime(2026, 6, 14, 10, 0),
        max_value=datetime(2026, 6, 15, 10, 0),
        timezones=st.just(UTC),
    ),
    temp_c=st.floats(min_value=-40, max_value=60, allow_nan=False),
    battery_pct=st.none() | st.floats(min_value=0, max_value=100),
    door_open=st.none() | st.booleans(),
    lat=st.none() | st.floats(min_value=-90, max_value=90),
    lon=st.none() | st.floats(min_value=-180, max_value=180),
)


@given(batch=st.lists(readings, min_size=1, max_size=20), epoch=st.booleans())
def test_any_simulated_payload_decodes(batch: list[Reading], epoch: bool) -> None:
    """Every payload the simulator can write decodes to the same readings."""
    fmt = TimestampFormat.EPOCH_MS if epoch else TimestampFormat.RFC3339
    decoded = decode_payload(
        encode_payload(batch, fmt), box_id=BoxId("box-1"), received_at=NOW
    )
    assert [r.seq for r in decoded] == [r.seq for r in batch]
    for sent, got in zip(batch, decoded, strict=True):
        assert abs(got.recorded_at - sent.recorded_at) <= timedelta(milliseconds=1)
        assert got.temp_c == pytest.approx(sent.temp_c, abs=0.005)
        assert got.door_open == sent.door_open
        if sent.lat is not None and sent.lon is not None:
            assert got.lat == pytest.approx(sent.lat, abs=1e-6)
            assert got.lon == pytest.approx(sent.lon, abs=1e-6)


def test_topic_round_trips() -> None:
    """Telemetry reads the box id back from the simulator's topic."""
    for box in ("short-box-000", "standard-box-059"):
        assert box_id_from_topic(telemetry_topic(box)) == box


def test_buffered_backlog_decodes_in_order() -> None:
    """A backlog sent after an outage decodes as consecutive readings in order."""
    sensor = BoxSensor("short-box-001", random.Random(3), online=False)
    for i in range(250):
        sensor.read(
            NOW - timedelta(seconds=30 * (250 - i)),
            5.0,
            door_open=False,
            position=(35.9, 14.5),
        )
    seqs: list[int] = []
    for message in sensor.drain():
        box = box_id_from_topic(message.topic)
        seqs += [
            r.seq for r in decode_payload(message.payload, box_id=box, received_at=NOW)
        ]
    assert seqs == list(range(1, 251))
