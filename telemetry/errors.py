"""Every error the telemetry package raises, each with a stable snake_case ``code``.

Tree::

    TelemetryError
    ├── PayloadRejected            a message that is dead-lettered, never retried
    │   ├── MalformedPayload       not JSON, not the wire shape, too large, empty
    │   ├── InvalidReading         a field is mistyped, not finite or implausible
    │   ├── UnknownTopic           not ``<prefix>/boxes/<box_id>/telemetry``
    │   └── UnknownBox             the box is not in the registry
    ├── StoreUnavailable           PostgreSQL cannot be reached; the batch is retried
    ├── ExcursionNotFound          no excursion with that id
    └── ExcursionTransitionInvalid the open -> acknowledged -> resolved order forbids it

``PayloadRejected.reason`` is the dead-letter reason code (:class:`RejectReason`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

__all__ = [
    "ExcursionNotFound",
    "ExcursionTransitionInvalid",
    "InvalidReading",
    "MalformedPayload",
    "PayloadRejected",
    "RejectReason",
    "StoreUnavailable",
    "TelemetryError",
    "UnknownBox",
    "UnknownTopic",
]


class RejectReason(StrEnum):
    """Why a message was dead-lettered (stored in ``telemetry.dead_letter.reason``)."""

    MALFORMED_JSON = "malformed_json"
    NOT_AN_OBJECT = "not_an_object"
    EMPTY_BATCH = "empty_batch"
    OVERSIZED_PAYLOAD = "oversized_payload"
    TOO_MANY_READINGS = "too_many_readings"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    NON_FINITE = "non_finite"
    IMPLAUSIBLE_VALUE = "implausible_value"
    TIMESTAMP_IN_FUTURE = "timestamp_in_future"
    TIMESTAMP_TOO_OLD = "timestamp_too_old"
    BAD_TIMESTAMP = "bad_timestamp"
    UNKNOWN_TOPIC = "unknown_topic"
    UNKNOWN_BOX = "unknown_box"
    STORE_REJECTED = "store_rejected"
    DECODE_FAILED = "decode_failed"


class TelemetryError(Exception):
    """Base class of all telemetry errors."""

    code: ClassVar[str] = "telemetry_error"


class PayloadRejected(TelemetryError):  # noqa: N818
    """A message that can never be stored; it goes to the dead-letter table."""

    code: ClassVar[str] = "payload_rejected"

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)


class MalformedPayload(PayloadRejected):
    """The bytes are not a JSON reading or array of readings of acceptable size."""

    code: ClassVar[str] = "malformed_payload"


class InvalidReading(PayloadRejected):
    """A reading's field is missing, mistyped, not finite or physically implausible."""

    code: ClassVar[str] = "invalid_reading"


class UnknownTopic(PayloadRejected):
    """The topic does not follow ``<prefix>/boxes/<box_id>/telemetry``."""

    code: ClassVar[str] = "unknown_topic"

    def __init__(self, topic_len: int) -> None:
        super().__init__(RejectReason.UNKNOWN_TOPIC, f"topic of {topic_len} chars")


class UnknownBox(PayloadRejected):
    """The box id is not registered."""

    code: ClassVar[str] = "unknown_box"

    def __init__(self, box_id: str) -> None:
        self.box_id = box_id
        super().__init__(RejectReason.UNKNOWN_BOX, box_id)


class StoreUnavailable(TelemetryError):  # noqa: N818
    """PostgreSQL failed transiently; the caller keeps the batch and retries."""

    code: ClassVar[str] = "store_unavailable"


class ExcursionNotFound(TelemetryError):  # noqa: N818
    """No excursion with that id."""

    code: ClassVar[str] = "excursion_not_found"

    def __init__(self, excursion_id: int) -> None:
        self.excursion_id = excursion_id
        super().__init__(f"excursion {excursion_id} not found")


class ExcursionTransitionInvalid(TelemetryError):  # noqa: N818
    """The lifecycle open -> acknowledged -> resolved does not allow this step."""

    code: ClassVar[str] = "excursion_transition_invalid"

    def __init__(self, excursion_id: int, status: str, target: str) -> None:
        self.excursion_id = excursion_id
        super().__init__(
            f"excursion {excursion_id} is {status}, cannot become {target}"
        )
