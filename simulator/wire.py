"""The MQTT wire contract for cold-box readings, written from the spec alone.

Topic ``rxdispatch/v1/boxes/{box_id}/telemetry``, QoS 1. Payload: one JSON object
``{"seq": int, "ts": RFC 3339 UTC or epoch ms, "temp_c": number, "battery_pct"?,
"door_open"?, "lat"?, "lon"?}`` or a JSON array of such objects (a logger that
buffered while offline sends its backlog in one message).

Deliberately independent of ``telemetry.codec``: ``tests/contract`` checks that
the two readings of the spec agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson

__all__ = [
    "QOS",
    "TOPIC_PREFIX",
    "Reading",
    "TimestampFormat",
    "box_of_resend_topic",
    "decode_resend",
    "encode_not_held",
    "encode_payload",
    "encode_reading",
    "resend_filter",
    "resend_topic",
    "telemetry_topic",
]

QOS = 1
TOPIC_PREFIX = "rxdispatch/v1"


class TimestampFormat(StrEnum):
    """The two ``ts`` forms the contract allows."""

    RFC3339 = "rfc3339"
    EPOCH_MS = "epoch_ms"


@dataclass(frozen=True, slots=True)
class Reading:
    """One sensor reading, timestamped by the device (tz-aware UTC)."""

    seq: int
    recorded_at: datetime
    temp_c: float
    battery_pct: float | None = None
    door_open: bool | None = None
    lat: float | None = None
    lon: float | None = None

    def __post_init__(self) -> None:
        if self.recorded_at.tzinfo is None:
            raise ValueError("recorded_at must be timezone-aware")
        if self.seq < 0 or not math.isfinite(self.temp_c):
            raise ValueError("seq must be >= 0 and temp_c finite")


def telemetry_topic(box_id: str, prefix: str = TOPIC_PREFIX) -> str:
    """The topic a box publishes to; ``box_id`` must be one topic level.

    ``prefix`` is ``rxdispatch/v1`` on real systems (tests isolate themselves
    on a shared broker with their own).
    """
    if not box_id or any(ch in box_id for ch in "/+#\x00"):
        raise ValueError(f"box id {box_id!r} is not a single MQTT topic level")
    return f"{prefix}/boxes/{box_id}/telemetry"


def resend_topic(box_id: str, prefix: str = TOPIC_PREFIX) -> str:
    """The downlink topic on which the server asks a box to resend a range."""
    return telemetry_topic(box_id, prefix)[: -len("telemetry")] + "resend"


def resend_filter(prefix: str = TOPIC_PREFIX) -> str:
    """Every box's resend topic (one subscription for all simulated boxes)."""
    return f"{prefix}/boxes/+/resend"


def box_of_resend_topic(topic: str, prefix: str = TOPIC_PREFIX) -> str | None:
    """The box id of a resend topic, None for any other topic."""
    head, tail = f"{prefix}/boxes/", "/resend"
    if topic.startswith(head) and topic.endswith(tail):
        box = topic[len(head) : -len(tail)]
        return box if box and "/" not in box else None
    return None


def decode_resend(payload: bytes) -> tuple[int, int]:
    """``{"from_seq": a, "to_seq": b}`` of a resend request; ValueError if not."""
    doc = orjson.loads(payload)
    if not isinstance(doc, dict):
        raise ValueError("a resend request is a JSON object")
    a, b = doc.get("from_seq"), doc.get("to_seq")
    if type(a) is not int or type(b) is not int or not 0 <= a <= b:
        raise ValueError("from_seq and to_seq must be integers, 0 <= from <= to")
    return a, b


def encode_not_held(from_seq: int, to_seq: int) -> bytes:
    """The answer to a resend request for readings the logger no longer holds."""
    return orjson.dumps({"not_held": {"from_seq": from_seq, "to_seq": to_seq}})


def encode_reading(
    reading: Reading, ts_format: TimestampFormat = TimestampFormat.RFC3339
) -> dict[str, Any]:
    """One reading as the JSON object of the contract (optional keys omitted)."""
    at = reading.recorded_at.astimezone(UTC)
    ts: str | int
    if ts_format is TimestampFormat.EPOCH_MS:
        ts = round(at.timestamp() * 1000)
    else:
        ts = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
    body: dict[str, Any] = {
        "seq": reading.seq,
        "ts": ts,
        "temp_c": round(reading.temp_c, 2),
    }
    if reading.battery_pct is not None:
        body["battery_pct"] = round(reading.battery_pct, 1)
    if reading.door_open is not None:
        body["door_open"] = reading.door_open
    if reading.lat is not None and reading.lon is not None:
        body["lat"] = round(reading.lat, 6)
        body["lon"] = round(reading.lon, 6)
    return body


def encode_payload(
    readings: Sequence[Reading], ts_format: TimestampFormat = TimestampFormat.RFC3339
) -> bytes:
    """A message body: one object for one reading, an array for a backlog."""
    if not readings:
        raise ValueError("a message carries at least one reading")
    if len(readings) == 1:
        return orjson.dumps(encode_reading(readings[0], ts_format))
    return orjson.dumps([encode_reading(r, ts_format) for r in readings])
