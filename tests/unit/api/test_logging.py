"""Structured logs: JSON lines, request ids, and redaction of secrets."""

from __future__ import annotations

import io
import logging
from typing import Any

import orjson

from api.logging import build_handler, redact_text

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl"
DEVICE = "rxd_dev_" + "A" * 43
TRACK = "rxd_trk_" + "B" * 43


def _log(*args: object, **extra: object) -> dict[str, Any]:
    stream = io.StringIO()
    logger = logging.getLogger("tests.redaction")
    logger.handlers[:] = [build_handler(stream)]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.info(*args, extra=extra or None)
    entry: dict[str, Any] = orjson.loads(stream.getvalue())
    return entry


def test_lines_are_json_with_context_ids() -> None:
    """A record becomes one JSON object carrying ids from ``extra``."""
    entry = _log("order %s sourced", "o-1", order_id="o-1", rider_id="r-2")
    assert entry["msg"] == "order o-1 sourced"
    assert entry["order_id"] == "o-1"
    assert entry["rider_id"] == "r-2"
    assert entry["level"] == "INFO"


def test_tokens_in_messages_are_masked() -> None:
    """Bearer JWTs, device tokens and tracking links never reach the line."""
    entry = _log(
        '"GET /ws/track/%s HTTP/1.1" Authorization: Bearer %s dev=%s',
        TRACK,
        JWT,
        DEVICE,
    )
    text = orjson.dumps(entry).decode()
    for secret in (JWT, DEVICE, TRACK, "B" * 20):
        assert secret not in text
    assert "/ws/track/***" in entry["msg"]


def test_sensitive_extra_fields_are_dropped() -> None:
    """Patient data and OTPs passed as ``extra`` are removed, ids kept."""
    entry = _log(
        "delivered",
        otp="493021",
        patient_name="Maria Borg",
        address="12 Triq il-Kbira",
        order_id="o-9",
    )
    text = orjson.dumps(entry).decode()
    assert "493021" not in text
    assert "Maria" not in text
    assert "Triq" not in text
    assert entry["order_id"] == "o-9"


def test_query_string_secrets_are_masked() -> None:
    """``access_token=`` and ``otp=`` values in URLs are masked."""
    assert (
        redact_text("/ws/rider?access_token=abc.def&x=1")
        == "/ws/rider?access_token=***&x=1"
    )
    assert "123456" not in redact_text('{"otp": "123456"}')
