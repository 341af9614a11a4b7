"""Webhook signatures: receivers can verify origin, integrity and freshness."""

from __future__ import annotations

import time

import httpx

from telemetry.webhooks import WebhookSender, sign, verify

SECRET = b"s3cret"


def test_signature_verifies_and_detects_tampering() -> None:
    """The signed body verifies; a changed body, key or stale timestamp does not."""
    now = str(int(time.time()))
    signature = sign(SECRET, now, b'{"a":1}')
    assert signature.startswith("sha256=")
    assert verify(SECRET, now, b'{"a":1}', signature)
    assert not verify(SECRET, now, b'{"a":2}', signature)
    assert not verify(b"other", now, b'{"a":1}', signature)
    old = str(int(time.time()) - 3600)
    assert not verify(SECRET, old, b'{"a":1}', sign(SECRET, old, b'{"a":1}'))
    assert not verify(SECRET, "not-a-time", b"{}", signature)


def test_sender_signs_each_post_and_retries_server_errors() -> None:
    """A 503 is retried; the accepted request carries a valid signature."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503 if len(seen) == 1 else 204)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    sender = WebhookSender(["http://hooks.test/x"], SECRET, client=client, backoff_s=0)
    assert sender.send({"type": "excursion.opened", "excursion_id": 7}) == 1
    assert len(seen) == 2
    last = seen[-1]
    assert verify(
        SECRET,
        last.headers["X-Rxdispatch-Timestamp"],
        last.content,
        last.headers["X-Rxdispatch-Signature"],
    )


def test_sender_gives_up_on_client_errors() -> None:
    """A 4xx is the receiver refusing: no retry, not delivered."""
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(401)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    sender = WebhookSender(["http://hooks.test/x"], SECRET, client=client, backoff_s=0)
    assert sender.send({"type": "x"}) == 0
    assert calls == [1]
