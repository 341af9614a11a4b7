"""Drive one websocket: a sender task draining its subscriber, a receive loop,
and a watch on the credential's deadline.

The sender closes the socket with 1013 when its subscriber overflowed or a send
stays blocked longer than ``send_timeout_s``, and with the code a close request
names (4001 when the access token expired: :mod:`api.live.session`); the receive
loop hands client messages to ``on_message`` (``auth`` to ``on_auth``) and
answers ``ping``. None of them ever blocks the hub.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from api.live.envelope import CLOSE_TOKEN_EXPIRED, CLOSE_TRY_AGAIN_LATER, envelope
from api.live.hub import Hub, Subscriber
from api.live.session import SocketSession

log = logging.getLogger(__name__)

MAX_CLIENT_FRAME_BYTES = 4096
MessageHandler = Callable[[dict[str, Any]], Awaitable[None]]


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    if ws.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(Exception), anyio.move_on_after(1.0):
            await ws.close(code=code, reason=reason)


async def _send_loop(
    ws: WebSocket,
    sub: Subscriber,
    hub: Hub,
    *,
    heartbeat_s: float,
    send_timeout_s: float,
    batch_s: float = 0.0,
) -> None:
    while True:
        if sub.close_request is not None:
            await _close(ws, *sub.close_request)
            return
        if sub.overflowed:
            hub.closed_slow += 1
            log.warning("closing slow websocket client", extra={"client": sub.id})
            await _close(ws, CLOSE_TRY_AGAIN_LATER, "client too slow")
            return
        frames = await sub.next_frames(heartbeat_s, batch_s)
        if sub.close_request is not None:
            continue
        if not frames and not sub.overflowed:
            frames = [envelope("heartbeat", {"pending": sub.pending()}, seq=sub.seq)]
        for frame in frames:
            with anyio.move_on_after(send_timeout_s) as scope:
                await ws.send_text(frame)
            if scope.cancelled_caught:
                sub.overflowed = True
                break


async def _watch_expiry(sub: Subscriber, session: SocketSession) -> None:
    """Warn ``session.warn_s`` before the deadline; at it, have the socket closed."""
    warned_for = None
    while True:
        remaining = session.remaining_s()
        if remaining is None:
            await session.wait_change(None)
            continue
        if remaining <= 0:
            sub.request_close(CLOSE_TOKEN_EXPIRED, "access token expired")
            return
        if remaining <= session.warn_s and warned_for != session.expires_at:
            warned_for = session.expires_at
            sub.offer_event(
                envelope(
                    "auth.expiring",
                    {
                        "expires_at": session.expires_at,
                        "expires_in_s": round(remaining, 1),
                    },
                )
            )
        wait = remaining - session.warn_s if remaining > session.warn_s else remaining
        await session.wait_change(wait)


async def _receive_loop(
    ws: WebSocket,
    sub: Subscriber,
    on_message: MessageHandler | None,
    on_auth: MessageHandler | None = None,
) -> None:
    while True:
        raw = await ws.receive_text()
        if len(raw) > MAX_CLIENT_FRAME_BYTES:
            sub.offer_event(_error(sub, "frame_too_large"))
            continue
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            sub.offer_event(_error(sub, "malformed_json"))
            continue
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            sub.offer_event(_error(sub, "missing_type"))
            continue
        if message["type"] == "ping":
            sub.offer_event(envelope("pong", message.get("data"), seq=sub.seq))
        elif message["type"] == "auth" and on_auth is not None:
            await on_auth(message)
        elif on_message is not None:
            await on_message(message)
        else:
            sub.offer_event(_error(sub, "unsupported_type"))


def _error(sub: Subscriber, code: str) -> str:
    return envelope("error", {"code": code}, seq=sub.seq)


async def run_connection(
    ws: WebSocket,
    sub: Subscriber,
    hub: Hub,
    *,
    heartbeat_s: float,
    send_timeout_s: float,
    batch_s: float = 0.0,
    on_message: MessageHandler | None = None,
    on_auth: MessageHandler | None = None,
    session: SocketSession | None = None,
) -> None:
    """Serve ``ws`` until the client leaves, is closed as too slow, or its
    ``session`` passes its deadline unrenewed."""
    try:
        async with anyio.create_task_group() as tg:

            async def sender() -> None:
                try:
                    await _send_loop(
                        ws,
                        sub,
                        hub,
                        heartbeat_s=heartbeat_s,
                        send_timeout_s=send_timeout_s,
                        batch_s=batch_s,
                    )
                except (WebSocketDisconnect, RuntimeError, OSError):
                    pass  # the peer went away mid-send
                finally:
                    tg.cancel_scope.cancel()

            async def receiver() -> None:
                try:
                    await _receive_loop(ws, sub, on_message, on_auth)
                except (WebSocketDisconnect, RuntimeError):
                    pass  # disconnect, or receive after close
                finally:
                    tg.cancel_scope.cancel()

            tg.start_soon(sender)
            tg.start_soon(receiver)
            if session is not None:
                tg.start_soon(_watch_expiry, sub, session)
    finally:
        hub.unsubscribe(sub)
