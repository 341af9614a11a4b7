"""HMAC-signed webhook delivery (httpx).

Each POST carries the JSON body and two headers: ``X-Rxdispatch-Timestamp`` (Unix
seconds) and ``X-Rxdispatch-Signature: sha256=<hex>``, the HMAC-SHA256 of
``"<timestamp>.<body>"`` under the shared secret. Receivers recompute it, compare
in constant time and reject stale timestamps (replay).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Sequence
from typing import Any

import httpx
import orjson

__all__ = ["WebhookSender", "sign", "verify"]

log = logging.getLogger(__name__)


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header value of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: bytes,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    max_age_s: float = 300,
) -> bool:
    """Whether ``signature`` is valid for ``body`` and ``timestamp`` is fresh."""
    try:
        age_s = abs(time.time() - float(timestamp))
    except ValueError:
        return False
    return age_s <= max_age_s and hmac.compare_digest(
        sign(secret, timestamp, body), signature
    )


class WebhookSender:
    """POSTs signed JSON to every configured URL, retrying transient failures."""

    def __init__(
        self,
        urls: Sequence[str],
        secret: bytes,
        *,
        client: httpx.Client | None = None,
        attempts: int = 3,
        backoff_s: float = 0.5,
    ) -> None:
        self.urls = list(urls)
        self._secret = secret
        self._client = client or httpx.Client(timeout=5.0)
        self._attempts = attempts
        self._backoff_s = backoff_s

    def send(self, payload: dict[str, Any]) -> int:
        """Deliver to each URL; how many accepted it (2xx)."""
        body = orjson.dumps(payload)
        delivered = 0
        for url in self.urls:
            delivered += self._send_one(url, body)
        return delivered

    def _send_one(self, url: str, body: bytes) -> bool:
        for attempt in range(self._attempts):
            timestamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "X-Rxdispatch-Timestamp": timestamp,
                "X-Rxdispatch-Signature": sign(self._secret, timestamp, body),
            }
            try:
                response = self._client.post(url, content=body, headers=headers)
                if response.is_success:
                    return True
                log.warning("webhook answered %d", response.status_code)
                if response.status_code < 500:
                    return False  # the receiver refuses it; retrying will not help
            except httpx.HTTPError as exc:
                log.warning("webhook failed: %s", type(exc).__name__)
            time.sleep(self._backoff_s * 2**attempt)
        return False

    def close(self) -> None:
        self._client.close()
