"""Payloads and topics follow the documented MQTT wire contract."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from simulator.wire import (
    QOS,
    Reading,
    TimestampFormat,
    encode_payload,
    encode_reading,
    telemetry_topic,
)

AT = datetime(2026, 6, 15, 8, 30, 5, 123456, tzinfo=UTC)


def test_topic_follows_the_contract() -> None:
    """Boxes publish on rxdispatch/v1/boxes/{box_id}/telemetry at QoS 1."""
    assert telemetry_topic("box-007") == "rxdispatch/v1/boxes/box-007/telemetry"
    assert QOS == 1


@pytest.mark.parametrize("box_id", ["", "a/b", "+", "box#1"])
def test_topic_refuses_ids_that_are_not_one_level(box_id: str) -> None:
    """A box id with topic separators or wildcards cannot form a topic."""
    with pytest.raises(ValueError, match="topic level"):
        telemetry_topic(box_id)


def test_full_reading_has_every_field() -> None:
    """A reading with position, door and battery carries all contract keys."""
    reading = Reading(
        7, AT, 5.4321, battery_pct=87.26, door_open=False, lat=35.9, lon=14.5
    )
    assert encode_reading(reading) == {
        "seq": 7,
        "ts": "2026-06-15T08:30:05.123Z",
        "temp_c": 5.43,
        "battery_pct": 87.3,
        "door_open": False,
        "lat": 35.9,
        "lon": 14.5,
    }


def test_optional_fields_are_omitted() -> None:
    """Only seq, ts and temp_c are required; absent optionals are not sent as null."""
    assert set(encode_reading(Reading(1, AT, 4.0))) == {"seq", "ts", "temp_c"}


def test_timestamps_are_utc_in_both_forms() -> None:
    """A non-UTC datetime is written in UTC (RFC 3339 'Z') or as epoch milliseconds."""
    local = AT.astimezone(timezone(timedelta(hours=2)))
    assert encode_reading(Reading(1, local, 4.0))["ts"] == "2026-06-15T08:30:05.123Z"
    epoch = encode_reading(Reading(1, local, 4.0), TimestampFormat.EPOCH_MS)["ts"]
    assert epoch == round(AT.timestamp() * 1000)
    assert isinstance(epoch, int)


def test_one_reading_is_an_object_and_a_backlog_an_array() -> None:
    """A single reading is a JSON object; buffered readings go as one JSON array."""
    one = orjson.loads(encode_payload([Reading(1, AT, 4.0)]))
    many = orjson.loads(
        encode_payload(
            [Reading(i, AT + timedelta(seconds=30 * i), 4.0) for i in (1, 2, 3)]
        )
    )
    assert isinstance(one, dict)
    assert [item["seq"] for item in many] == [1, 2, 3]


def test_invalid_readings_are_refused() -> None:
    """Naive timestamps, NaN temperatures and empty messages never reach the wire."""
    with pytest.raises(ValueError, match="timezone"):
        Reading(1, datetime(2026, 6, 15, 8, 0), 4.0)
    with pytest.raises(ValueError, match="finite"):
        Reading(1, AT, float("nan"))
    with pytest.raises(ValueError, match="at least one"):
        encode_payload([])
