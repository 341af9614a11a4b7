"""A socket's credential deadline: warned ahead, renewed in band, closed at it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from api.live.connection import _watch_expiry
from api.live.envelope import CLOSE_TOKEN_EXPIRED
from api.live.hub import Hub, Subscriber
from api.live.session import SocketSession


def _events(sub: Subscriber) -> list[dict[str, Any]]:
    frames = asyncio.run(sub.next_frames(0.0))
    return [orjson.loads(f) for f in frames]


def test_warned_then_closed_at_the_deadline() -> None:
    """``auth.expiring`` once inside the warning window, then a 4001 close."""
    sub = Hub().subscribe("dispatch")

    async def run() -> None:
        session = SocketSession(datetime.now(UTC) + timedelta(seconds=0.4), warn_s=0.2)
        await asyncio.wait_for(_watch_expiry(sub, session), 2)

    asyncio.run(run())
    assert sub.close_request == (CLOSE_TOKEN_EXPIRED, "access token expired")
    [warning] = [e for e in _events(sub) if e["type"] == "auth.expiring"]
    assert 0 < warning["data"]["expires_in_s"] <= 0.2


def test_a_renewal_moves_the_deadline() -> None:
    """Renewed before the deadline (and its warning): no close at the old one;
    one warning, before the new one; closed at the new one."""
    sub = Hub().subscribe("dispatch")

    async def run() -> None:
        session = SocketSession(datetime.now(UTC) + timedelta(seconds=0.3), warn_s=0.1)
        watcher = asyncio.create_task(_watch_expiry(sub, session))
        await asyncio.sleep(0.1)
        session.renew(datetime.now(UTC) + timedelta(seconds=0.6))
        await asyncio.sleep(0.4)  # past the old deadline
        assert sub.close_request is None
        await asyncio.wait_for(watcher, 2)

    asyncio.run(run())
    assert sub.close_request is not None
    assert [e["type"] for e in _events(sub)].count("auth.expiring") == 1


def test_no_deadline_never_closes() -> None:
    """A device-token socket (no expiry) is left alone until renewed with one."""
    sub = Hub().subscribe("rider")

    async def run() -> None:
        session = SocketSession(None, warn_s=0.1)
        watcher = asyncio.create_task(_watch_expiry(sub, session))
        await asyncio.sleep(0.2)
        assert sub.close_request is None
        assert session.remaining_s() is None
        watcher.cancel()

    asyncio.run(run())
    assert sub.close_request is None
