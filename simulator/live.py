"""Websocket clients of the live channels: rider, dispatch and patient tracking.

Frames are the API's envelope ``{"v": 1, "type", "ts", "data"}``. A
:class:`LiveChannel` connects with a bearer token, hands every frame to a
callback, reconnects after a dropped connection (with backoff), and can be taken
offline on purpose (a rider in a dead zone) and brought back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from simulator.errors import ApiError

__all__ = ["Frame", "LiveChannel", "websocket_url"]

log = logging.getLogger(__name__)

CLOSE_POLICY_VIOLATION = 1008
_BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 5.0)

FrameHandler = Callable[["Frame"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Frame:
    """One server frame: its type, server timestamp and payload."""

    type: str
    ts: str
    data: Any


def websocket_url(api_url: str, path: str) -> str:
    """``http(s)://host/base`` + ``path`` as a ``ws(s)://`` URL."""
    parts = urlsplit(api_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + path, "", ""))


class LiveChannel:
    """A reconnecting websocket on one live channel."""

    def __init__(
        self, url: str, *, on_frame: FrameHandler, token: str | None = None
    ) -> None:
        self._url = url
        self._token = token
        self._on_frame = on_frame
        self._online = asyncio.Event()
        self._online.set()
        self._ws: ClientConnection | None = None
        self._stopped = False
        self.connects = 0
        self.frames = 0

    @property
    def connected(self) -> bool:
        """Whether a connection is open right now."""
        return self._ws is not None

    async def send(self, type_: str, data: Any) -> bool:
        """Send one client message; False (dropped) while not connected."""
        ws = self._ws
        if ws is None:
            return False
        try:
            await ws.send(orjson.dumps({"type": type_, "data": data}).decode())
        except ConnectionClosed:
            return False
        return True

    async def go_offline(self) -> None:
        """Drop the connection and stay away until :meth:`go_online`."""
        self._online.clear()
        ws = self._ws
        if ws is not None:
            await ws.close()

    def go_online(self) -> None:
        """Allow reconnecting."""
        self._online.set()

    async def stop(self) -> None:
        """Close for good; :meth:`run` returns."""
        self._stopped = True
        self._online.set()
        ws = self._ws
        if ws is not None:
            await ws.close()

    async def run(self) -> None:
        """Connect, read frames, reconnect; return after :meth:`stop`.

        Raises :class:`ApiError` when the server refuses the credentials (1008).
        """
        failures = 0
        while not self._stopped:
            await self._online.wait()
            if self._stopped:
                return
            try:
                await self._session()
                failures = 0
            except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
                delay = _BACKOFF_S[min(failures, len(_BACKOFF_S) - 1)]
                failures += 1
                log.info(
                    "websocket %s unavailable (%s); retry in %.1f s",
                    self._path,
                    type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay)

    @property
    def _path(self) -> str:
        return urlsplit(self._url).path

    async def _session(self) -> None:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else None
        async with connect(
            self._url, additional_headers=headers, open_timeout=10
        ) as ws:
            self._ws = ws
            self.connects += 1
            try:
                async for raw in ws:
                    await self._dispatch(raw)
            except ConnectionClosed:
                pass
            finally:
                self._ws = None
            if ws.close_code == CLOSE_POLICY_VIOLATION:
                self._stopped = True
                raise ApiError(
                    f"{self._path}: authentication refused",
                    status=401,
                    problem_code="ws_policy_violation",
                )

    async def _dispatch(self, raw: str | bytes) -> None:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            log.warning("websocket %s sent a frame that is not JSON", self._path)
            return
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            log.warning("websocket %s sent a frame without a type", self._path)
            return
        self.frames += 1
        frame = Frame(body["type"], str(body.get("ts", "")), body.get("data"))
        await self._on_frame(frame)
