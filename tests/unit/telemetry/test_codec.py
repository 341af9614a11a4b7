"""The wire decoder: captured payloads decode, broken ones raise the right reason."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from telemetry.codec import CodecLimits, decode_payload
from telemetry.errors import InvalidReading, MalformedPayload, RejectReason
from telemetry.model import BoxId, Reading

PAYLOADS = Path(__file__).resolve().parents[2] / "data" / "payloads"
RECEIVED_AT = datetime(2026, 11, 21, 9, 2, tzinfo=UTC)
BOX = BoxId("box-0001")
R = RejectReason


def assert_plausible_reading(reading: Reading) -> None:
    """Invariants every decoded reading satisfies (traccar's verifyDecodedPosition)."""
    assert reading.recorded_at.tzinfo is not None
    assert reading.recorded_at.utcoffset() == timedelta(0)
    assert math.isfinite(reading.temp_c)
    assert -90 <= reading.temp_c <= 90
    assert reading.seq >= 0
    if reading.battery_pct is not None:
        assert 0 <= reading.battery_pct <= 100
    if reading.lat is not None:
        assert -90 <= reading.lat <= 90


def _decode(name: str) -> list[Reading]:
    return decode_payload(
        (PAYLOADS / name).read_bytes(), box_id=BOX, received_at=RECEIVED_AT
    )


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("valid_single_rfc3339.json", 1),
        ("valid_single_epoch_ms.json", 1),
        ("valid_buffered_array.json", 3),
        ("valid_null_optionals.json", 1),
    ],
)
def test_captured_payloads_decode(name: str, count: int) -> None:
    """Each captured payload yields its readings, all plausible."""
    readings = _decode(name)
    assert len(readings) == count
    for reading in readings:
        assert reading.box_id == BOX
        assert_plausible_reading(reading)


def test_single_reading_fields_are_mapped() -> None:
    """Every field of the contract lands in the Reading."""
    (reading,) = _decode("valid_single_rfc3339.json")
    assert reading == Reading(
        BOX,
        4567,
        datetime(2026, 11, 21, 9, tzinfo=UTC),
        4.52,
        87.5,
        False,
        52.5163,
        13.3777,
        RECEIVED_AT,
    )


def test_epoch_milliseconds_and_offsets_become_utc() -> None:
    """Epoch ms and a +01:00 offset are converted to the same UTC instant scale."""
    (epoch,) = _decode("valid_single_epoch_ms.json")
    assert epoch.recorded_at == datetime(2026, 11, 21, 9, 1, tzinfo=UTC)
    buffered = _decode("valid_buffered_array.json")
    assert buffered[2].recorded_at == datetime(2026, 11, 21, 8, 59, tzinfo=UTC)
    assert [r.seq for r in buffered] == [10, 11, 12]


@pytest.mark.parametrize(
    ("name", "error", "reason"),
    [
        ("broken_truncated_json.json", MalformedPayload, R.MALFORMED_JSON),
        ("broken_not_json.json", MalformedPayload, R.MALFORMED_JSON),
        ("broken_nan_temperature.json", InvalidReading, R.NON_FINITE),
        ("broken_infinity_temperature.json", InvalidReading, R.NON_FINITE),
        ("broken_overflowing_temperature.json", InvalidReading, R.NON_FINITE),
        ("broken_temperature_as_string.json", InvalidReading, R.WRONG_TYPE),
        ("broken_seq_as_string.json", InvalidReading, R.WRONG_TYPE),
        ("broken_seq_as_float.json", InvalidReading, R.WRONG_TYPE),
        ("broken_negative_seq.json", InvalidReading, R.IMPLAUSIBLE_VALUE),
        ("broken_missing_seq.json", InvalidReading, R.MISSING_FIELD),
        ("broken_missing_temperature.json", InvalidReading, R.MISSING_FIELD),
        ("broken_missing_timestamp.json", InvalidReading, R.MISSING_FIELD),
        ("broken_impossible_temperature.json", InvalidReading, R.IMPLAUSIBLE_VALUE),
        ("broken_below_absolute_zero.json", InvalidReading, R.IMPLAUSIBLE_VALUE),
        ("broken_battery_over_100.json", InvalidReading, R.IMPLAUSIBLE_VALUE),
        ("broken_latitude_out_of_range.json", InvalidReading, R.IMPLAUSIBLE_VALUE),
        ("broken_door_open_as_string.json", InvalidReading, R.WRONG_TYPE),
        ("broken_timestamp_far_future.json", InvalidReading, R.TIMESTAMP_IN_FUTURE),
        ("broken_timestamp_far_past.json", InvalidReading, R.TIMESTAMP_TOO_OLD),
        ("broken_timestamp_without_offset.json", InvalidReading, R.BAD_TIMESTAMP),
        ("broken_timestamp_not_rfc3339.json", InvalidReading, R.BAD_TIMESTAMP),
        ("broken_timestamp_as_bool.json", InvalidReading, R.WRONG_TYPE),
        ("broken_empty_array.json", MalformedPayload, R.EMPTY_BATCH),
        ("broken_bare_string.json", MalformedPayload, R.NOT_AN_OBJECT),
        ("broken_array_with_number.json", MalformedPayload, R.NOT_AN_OBJECT),
        ("broken_array_with_nan_reading.json", InvalidReading, R.NON_FINITE),
    ],
)
def test_broken_payloads_raise_typed_errors(
    name: str, error: type[Exception], reason: RejectReason
) -> None:
    """Each deliberately broken payload raises its error class and reason code."""
    with pytest.raises(error) as info:
        _decode(name)
    assert info.value.reason is reason  # type: ignore[attr-defined]


def test_every_broken_payload_file_is_covered() -> None:
    """No broken payload file sits in the folder without an expected reason."""
    source = Path(__file__).read_text()
    files = sorted(PAYLOADS.glob("broken_*.json"))
    assert files
    for path in files:
        assert path.name in source, path.name


def test_oversized_payload_is_rejected_before_parsing() -> None:
    """A payload above the byte limit is rejected as oversized."""
    limits = CodecLimits(max_payload_bytes=1024)
    reading = {"seq": 1, "ts": "2026-11-21T09:00:00Z", "temp_c": 4.5}
    payload = orjson.dumps([reading] * 100)
    with pytest.raises(MalformedPayload) as info:
        decode_payload(payload, box_id=BOX, received_at=RECEIVED_AT, limits=limits)
    assert info.value.reason is R.OVERSIZED_PAYLOAD


def test_too_many_readings_in_one_message_are_rejected() -> None:
    """An array longer than the per-message limit is rejected."""
    limits = CodecLimits(max_readings_per_message=3)
    items = [{"seq": i, "ts": "2026-11-21T09:00:00Z", "temp_c": 4.5} for i in range(4)]
    with pytest.raises(MalformedPayload) as info:
        decode_payload(
            orjson.dumps(items), box_id=BOX, received_at=RECEIVED_AT, limits=limits
        )
    assert info.value.reason is R.TOO_MANY_READINGS


def test_inverted_limits_are_refused() -> None:
    """CodecLimits validates itself on construction."""
    with pytest.raises(ValueError, match="below"):
        CodecLimits(min_temp_c=10, max_temp_c=0)


def _ts(ts: str) -> datetime:
    payload = orjson.dumps({"seq": 1, "ts": ts, "temp_c": 4.5})
    [reading] = decode_payload(payload, box_id=BOX, received_at=RECEIVED_AT)
    return reading.recorded_at


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("2026-11-21T09:00:00Z", datetime(2026, 11, 21, 9, tzinfo=UTC)),
        ("2026-11-21t09:00:00z", datetime(2026, 11, 21, 9, tzinfo=UTC)),
        ("2026-11-21T10:00:00+01:00", datetime(2026, 11, 21, 9, tzinfo=UTC)),
        ("2026-11-21t08:30:00-00:30", datetime(2026, 11, 21, 9, tzinfo=UTC)),
        (
            "2026-11-21T09:00:00.123456789Z",
            datetime(2026, 11, 21, 9, 0, 0, 123456, tzinfo=UTC),
        ),
    ],
)
def test_rfc3339_forms_are_accepted(ts: str, expected: datetime) -> None:
    """RFC 3339 allows lowercase ``t``/``z`` and any fraction (issue 20, item 9)."""
    assert _ts(ts) == expected


@pytest.mark.parametrize(
    "ts",
    [
        "2026-11-21 09:00:00Z",  # a space: ISO 8601 only
        "20261121T090000Z",  # basic format
        "2026-W47-6T09:00:00Z",  # week date
        "2026-325T09:00:00Z",  # ordinal date
        "2026-11-21T09Z",  # hour only
        "2026-11-21T09:00Z",  # no seconds
        "2026-11-21T09:00:00+0100",  # offset without a colon
        "2026-11-21T09:00:00",  # no offset
        "2026-11-21T09:00:60Z",  # a leap second datetime cannot hold
        "2026-13-21T09:00:00Z",
        "\uff12\uff10\uff12\uff16-11-21T09:00:00Z",  # full-width digits
    ],
)
def test_non_rfc3339_forms_are_dead_lettered(ts: str) -> None:
    """Forms ``fromisoformat`` takes but RFC 3339 does not are refused with the
    ``bad_timestamp`` dead-letter reason."""
    with pytest.raises(InvalidReading) as info:
        _ts(ts)
    assert info.value.reason is R.BAD_TIMESTAMP
