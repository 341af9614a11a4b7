"""Plain data of the telemetry package: readings, messages and dead letters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, NewType

__all__ = ["BoxId", "DeadLetter", "InboundMessage", "Reading"]

BoxId = NewType("BoxId", str)


class Reading(NamedTuple):
    """One logger sample of a cold box, in device time (``recorded_at``, UTC).

    A named tuple (not a dataclass): the worker builds one per reading at
    >= 15k/s, and its field order is the staging COPY's column order.
    """

    box_id: BoxId
    seq: int
    recorded_at: datetime
    temp_c: float
    battery_pct: float | None = None
    door_open: bool | None = None
    lat: float | None = None
    lon: float | None = None
    received_at: datetime | None = None


class InboundMessage(NamedTuple):
    """An MQTT message handed from the transport to ingestion (cheap to build).

    ``mid``/``qos`` and ``generation`` (the connection it arrived on) are what the
    transport needs to acknowledge it after the batch is committed.
    """

    topic: str
    payload: bytes
    received_at: datetime
    mid: int = 0
    qos: int = 1
    generation: int = 0


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A rejected message: topic, truncated payload, reason code, receive time."""

    topic: str
    payload: bytes
    payload_bytes: int
    reason: str
    detail: str
    received_at: datetime
