"""JSON encoding shared by responses, websocket envelopes and logs (orjson)."""

from __future__ import annotations

from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    """Encode ``value`` as compact UTF-8 JSON (datetimes as RFC 3339)."""
    return orjson.dumps(value, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)


def dumps_text(value: Any) -> str:
    """Like :func:`dumps` but as ``str`` (for websocket text frames)."""
    return dumps(value).decode()
