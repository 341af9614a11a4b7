"""Decode the wire payload (one JSON reading or an array of them) into :class:`Reading`.

The contract is in ``docs/telemetry-wire-contract.md``. Everything that is not a
valid reading raises a :class:`~telemetry.errors.PayloadRejected` subclass whose
``reason`` becomes the dead-letter reason code; one bad reading rejects the whole
message (the logger re-sends it as one unit, so a partial store would hide a defect).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from telemetry.errors import InvalidReading, MalformedPayload, RejectReason
from telemetry.model import BoxId, Reading

__all__ = ["NOT_HELD_MARKER", "CodecLimits", "decode_not_held", "decode_payload"]

_R = RejectReason
_OPTIONAL_NUMBERS = ("battery_pct", "lat", "lon")


@dataclass(frozen=True, slots=True)
class CodecLimits:
    """Plausibility limits of the decoder (algorithm knobs, not deployment settings)."""

    max_payload_bytes: int = 256 * 1024
    max_readings_per_message: int = 5000
    min_temp_c: float = -90.0  # EN 12830 recorders cover -80..+85 °C
    max_temp_c: float = 90.0
    max_future_skew_s: float = 300.0
    max_age_s: float = 30 * 86400.0

    def __post_init__(self) -> None:
        if self.min_temp_c >= self.max_temp_c:
            raise ValueError("min_temp_c must be below max_temp_c")
        if self.max_payload_bytes <= 0 or self.max_readings_per_message <= 0:
            raise ValueError("payload limits must be positive")


_DEFAULT_LIMITS = CodecLimits()


def _reject_constant(token: str) -> Any:
    raise InvalidReading(_R.NON_FINITE, token)


def _parse(payload: bytes, limits: CodecLimits) -> Any:
    if len(payload) > limits.max_payload_bytes:
        raise MalformedPayload(_R.OVERSIZED_PAYLOAD, f"{len(payload)} bytes")
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        pass
    # orjson refuses NaN/Infinity/1e999; the slow parser tells them apart from
    # garbage so the reason code says what was wrong (finite checks follow).
    try:
        return json.loads(payload, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError):
        raise MalformedPayload(_R.MALFORMED_JSON) from None


def _number(obj: dict[str, Any], key: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    kind = type(value)  # exact types: bool is an int subclass and must not pass
    if kind is float:
        if not math.isfinite(value):
            raise InvalidReading(_R.NON_FINITE, key)
        return value  # type: ignore[no-any-return]
    if kind is int:
        return float(value)
    raise InvalidReading(_R.WRONG_TYPE, key)


_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)
"""RFC 3339 ``date-time`` (section 5.6): ``T``/``t`` and ``Z``/``z`` as it allows,
seconds required, an offset required; not ISO 8601's other forms (a space, basic
format, week or ordinal dates, hour-only times) that ``fromisoformat`` accepts."""
_NO_OFFSET = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ][\d:.]+", re.ASCII)


def _timestamp(value: Any) -> datetime:
    kind = type(value)
    if kind is int:
        try:  # exact to the microsecond for epoch milliseconds, 2x the timedelta sum
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidReading(_R.BAD_TIMESTAMP, "ts") from None
    if kind is str:
        match = _RFC3339.fullmatch(value)
        if match is None:
            detail = "ts without offset" if _NO_OFFSET.fullmatch(value) else "ts"
            raise InvalidReading(_R.BAD_TIMESTAMP, f"{detail} (not RFC 3339)")
        fraction = match.group(1)
        if fraction and len(fraction) > 7:  # nanoseconds: keep microseconds
            value = value.replace(fraction, fraction[:7], 1)
        try:
            parsed = datetime.fromisoformat(value.upper())
        except ValueError:  # e.g. month 13, second 60 (a leap second)
            raise InvalidReading(_R.BAD_TIMESTAMP, "ts (not a valid time)") from None
        return parsed.astimezone(UTC)
    raise InvalidReading(_R.WRONG_TYPE, "ts")


@dataclass(frozen=True, slots=True)
class _Window:
    """Per-message bounds, computed once for all its readings."""

    earliest: datetime
    latest: datetime
    min_temp_c: float
    max_temp_c: float


def _reading(obj: Any, box_id: BoxId, received_at: datetime, w: _Window) -> Reading:
    if type(obj) is not dict:
        raise MalformedPayload(_R.NOT_AN_OBJECT)
    seq, ts, temp_c = obj.get("seq"), obj.get("ts"), _number(obj, "temp_c")
    for key, value in (("seq", seq), ("ts", ts), ("temp_c", temp_c)):
        if value is None:
            raise InvalidReading(_R.MISSING_FIELD, key)
    if type(seq) is not int:
        raise InvalidReading(_R.WRONG_TYPE, "seq")
    if not 0 <= seq < 2**63:
        raise InvalidReading(_R.IMPLAUSIBLE_VALUE, "seq")
    recorded_at = _timestamp(ts)
    if recorded_at > w.latest:
        ahead_s = (recorded_at - received_at).total_seconds()
        raise InvalidReading(_R.TIMESTAMP_IN_FUTURE, f"{ahead_s:.0f} s ahead")
    if recorded_at < w.earliest:
        age_s = (received_at - recorded_at).total_seconds()
        raise InvalidReading(_R.TIMESTAMP_TOO_OLD, f"{age_s:.0f} s old")
    assert temp_c is not None  # noqa: S101 - presence checked above
    if not w.min_temp_c <= temp_c <= w.max_temp_c:
        raise InvalidReading(_R.IMPLAUSIBLE_VALUE, "temp_c")
    if len(obj) == 3:  # the common case: no optional fields
        return Reading(box_id, seq, recorded_at, temp_c, received_at=received_at)
    battery_pct, lat, lon = (_number(obj, key) for key in _OPTIONAL_NUMBERS)
    if battery_pct is not None and not 0.0 <= battery_pct <= 100.0:
        raise InvalidReading(_R.IMPLAUSIBLE_VALUE, "battery_pct")
    if lat is not None and not -90.0 <= lat <= 90.0:
        raise InvalidReading(_R.IMPLAUSIBLE_VALUE, "lat")
    if lon is not None and not -180.0 <= lon <= 180.0:
        raise InvalidReading(_R.IMPLAUSIBLE_VALUE, "lon")
    door_open = obj.get("door_open")
    if door_open is not None and type(door_open) is not bool:
        raise InvalidReading(_R.WRONG_TYPE, "door_open")
    return Reading(
        box_id, seq, recorded_at, temp_c, battery_pct, door_open, lat, lon, received_at
    )


def decode_payload(
    payload: bytes,
    *,
    box_id: BoxId,
    received_at: datetime,
    limits: CodecLimits | None = None,
) -> list[Reading]:
    """The readings in ``payload`` (object or array), or raise ``PayloadRejected``.

    ``received_at`` (UTC) anchors the future/past timestamp checks.
    """
    limits = limits or _DEFAULT_LIMITS
    doc = _parse(payload, limits)
    items = doc if isinstance(doc, list) else [doc]
    if not items:
        raise MalformedPayload(_R.EMPTY_BATCH)
    if len(items) > limits.max_readings_per_message:
        raise MalformedPayload(_R.TOO_MANY_READINGS, str(len(items)))
    window = _window(received_at, limits)
    return [_reading(item, box_id, received_at, window) for item in items]


#: a logger's answer to a resend request it cannot serve carries this key
NOT_HELD_MARKER = b'"not_held"'


def decode_not_held(
    payload: bytes, limits: CodecLimits | None = None
) -> tuple[int, int]:
    """``{"not_held": {"from_seq": a, "to_seq": b}}``: the range a logger no
    longer holds (answer to a resend request), or raise ``PayloadRejected``."""
    doc = _parse(payload, limits or _DEFAULT_LIMITS)
    if not isinstance(doc, dict) or not isinstance(doc.get("not_held"), dict):
        raise MalformedPayload(_R.NOT_AN_OBJECT, "not_held")
    body = doc["not_held"]
    bounds = []
    for key in ("from_seq", "to_seq"):
        value = body.get(key)
        if value is None:
            raise InvalidReading(_R.MISSING_FIELD, key)
        if type(value) is not int:
            raise InvalidReading(_R.WRONG_TYPE, key)
        if not 0 <= value < 2**63:
            raise InvalidReading(_R.IMPLAUSIBLE_VALUE, key)
        bounds.append(value)
    if bounds[0] > bounds[1]:
        raise InvalidReading(_R.IMPLAUSIBLE_VALUE, "from_seq > to_seq")
    return bounds[0], bounds[1]


_last_window: tuple[datetime, CodecLimits, _Window] | None = None


def _window(received_at: datetime, limits: CodecLimits) -> _Window:
    """Bounds for ``received_at``; the transport stamps arrivals per millisecond,
    so consecutive messages mostly share one (a one-entry cache)."""
    global _last_window
    last = _last_window
    if last is not None and last[0] == received_at and last[1] is limits:
        return last[2]
    window = _Window(
        received_at - timedelta(seconds=limits.max_age_s),
        received_at + timedelta(seconds=limits.max_future_skew_s),
        limits.min_temp_c,
        limits.max_temp_c,
    )
    _last_window = (received_at, limits, window)
    return window
