"""How long a live socket's credential lasts, and its renewals on the open socket.

A socket opened with a user's access token (a JWT) lives only as long as some
token of that user is valid: the client sends ``{"type": "auth", "data":
{"access_token": ...}}`` with a fresh token (from ``POST /auth/refresh``) before
the current one expires, and the deadline moves. The connection warns with
``auth.expiring`` ``warn_s`` before the deadline and closes the socket with
:data:`~api.live.envelope.CLOSE_TOKEN_EXPIRED` at it. Device tokens (riders) do
not expire: their sessions have no deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SocketSession:
    """The deadline of one socket's credential (use on the socket's event loop)."""

    def __init__(
        self,
        expires_at: datetime | None,
        *,
        warn_s: float = 60.0,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.expires_at = expires_at
        self.warn_s = warn_s
        self._now = now
        self._changed = asyncio.Event()

    def renew(self, expires_at: datetime | None) -> None:
        """A fresh credential was presented: its expiry is the new deadline."""
        self.expires_at = expires_at
        self._changed.set()

    def remaining_s(self) -> float | None:
        """Seconds until the deadline (negative once past), None without one."""
        if self.expires_at is None:
            return None
        return (self.expires_at - self._now()).total_seconds()

    async def wait_change(self, timeout_s: float | None) -> None:
        """Sleep ``timeout_s`` (None: forever), or until :meth:`renew`."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout_s)
        self._changed.clear()
