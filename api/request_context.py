"""Per-request ASGI middleware: the correlation id, and the request body limit.

The body limit runs before routing and so before authentication: an anonymous
client cannot make the server read (and parse) an unbounded body.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_VALID_INCOMING = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
HEADER = b"x-request-id"


def current_request_id() -> str | None:
    """The id of the request being handled, if any."""
    return _request_id.get()


class RequestIdMiddleware:
    """Reuse a sane incoming ``X-Request-ID`` or mint one; echo it on responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers", ())).get(HEADER, b"").decode("latin-1")
        rid = incoming if _VALID_INCOMING.match(incoming) else uuid.uuid4().hex
        token = _request_id.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                headers.append((HEADER, rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _request_id.reset(token)


class _BodyTooLargeError(Exception):
    """Raised inside ``receive`` once a streamed body passes the limit."""


class BodyLimitMiddleware:
    """Refuse request bodies above ``max_bytes`` with ``too_large()`` (a 413).

    A declared ``Content-Length`` above the limit is refused before any byte is
    read; a body without one (chunked) is counted as it streams and refused as
    soon as it passes the limit, if no response has started yet.
    """

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, too_large: Callable[[], ASGIApp]
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.too_large = too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and (
            not declared.isdigit() or int(declared) > self.max_bytes
        ):
            await self.too_large()(scope, receive, send)
            return
        seen = 0
        started = exceeded = False

        async def counting_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    exceeded = True
                    raise _BodyTooLargeError
            return message

        async def guarded_send(message: Message) -> None:
            # Once the body overflowed, the app's own answer (FastAPI turns the
            # error raised in receive into a 400) is replaced by the 413.
            nonlocal started
            if exceeded and not started:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _BodyTooLargeError:
            if started:
                raise
        if exceeded and not started:
            await self.too_large()(scope, receive, send)
