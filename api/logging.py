"""Structured JSON-lines logging with request ids and enforced redaction.

Only this module configures handlers. The redaction filter runs on every record:
it drops sensitive ``extra=`` keys and masks tokens, OTPs and tracking links in
the rendered message (uvicorn's access log includes request paths).
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from api.request_context import current_request_id
from api.serialization import dumps

#: ``extra=`` keys that never reach a log line.
SENSITIVE_KEYS = frozenset(
    {
        "otp",
        "code",
        "password",
        "token",
        "access_token",
        "authorization",
        "patient_name",
        "patient_phone",
        "phone",
        "address",
        "name",
        "notes",
        "products",
        "lines",
        "diagnosis",
        "secret",
    }
)
#: Context keys kept from ``extra=`` (ids only).
CONTEXT_KEYS = (
    "rider_id",
    "order_id",
    "box_id",
    "pharmacy_id",
    "plan_version",
    "package",
    "client",
    "worker",
    "stage",
    "error_type",
)
MASK = "***"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer " + MASK),
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), MASK),
    (re.compile(r"rxd_[a-z]+_[A-Za-z0-9_-]{16,}"), MASK),
    (re.compile(r"(/track/)[^/\s?\"']+"), r"\1" + MASK),
    (
        re.compile(r"(?i)((?:access_)?token|otp|code|password)=[^&\s\"']+"),
        r"\1=" + MASK,
    ),
    (
        re.compile(r"(?i)(\"?(?:otp|password|token)\"?\s*:\s*\"?)[^\s\",}]+"),
        r"\1" + MASK,
    ),
)
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {
    "message",
    "asctime",
}


def redact_text(text: str) -> str:
    """``text`` with bearer/JWT/device/tracking tokens and OTP values masked."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactionFilter(logging.Filter):
    """Mask secrets in the message and drop sensitive ``extra=`` attributes."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        record.msg = redact_text(message)
        record.args = None
        for key in list(vars(record)):
            if key in SENSITIVE_KEYS and key not in _STANDARD_ATTRS:
                delattr(record, key)
        return True


class RequestIdFilter(logging.Filter):
    """Attach the current request id to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, request_id, ids, exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid:
            entry["request_id"] = rid
        for key in CONTEXT_KEYS:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = str(value)
        if record.exc_info:
            entry["exc"] = redact_text(self.formatException(record.exc_info))
        return dumps(entry).decode()


def build_handler(stream: TextIO | None = None) -> logging.Handler:
    """A stream handler emitting redacted JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactionFilter())
    handler.setFormatter(JsonLinesFormatter())
    return handler


def configure_logging(level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Route the root logger and uvicorn's loggers through one JSON handler."""
    handler = build_handler(stream)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uv = logging.getLogger(name)
        uv.handlers[:] = []
        uv.propagate = True
