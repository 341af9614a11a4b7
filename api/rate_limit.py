"""Sliding-window rate limiting for login and OTP endpoints (per process).

State is in memory: one API process per deployment in this project; a shared
store would be needed behind a load balancer with several API processes.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from api.errors import RateLimited


class SlidingWindowLimiter:
    """At most ``limit`` hits per key within ``window_s``."""

    def __init__(
        self,
        *,
        limit: int,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def hit(self, *keys: str) -> None:
        """Count one attempt against every key; raise :class:`RateLimited` if any
        key is already at its limit (nothing is counted then)."""
        now = self._clock()
        with self._lock:
            retry_s = 0.0
            windows = [self._window(key, now) for key in keys]
            for window in windows:
                if len(window) >= self.limit:
                    retry_s = max(retry_s, window[0] + self.window_s - now)
            if retry_s > 0:
                raise RateLimited(
                    "Too many attempts; try again later.",
                    retry_after_s=max(1, math.ceil(retry_s)),
                )
            for window in windows:
                window.append(now)

    def check(self, *keys: str) -> None:
        """Raise :class:`RateLimited` if any key is at its limit; count nothing
        (with :meth:`record`: a limit on failures only)."""
        now = self._clock()
        with self._lock:
            retry_s = 0.0
            for key in keys:
                window = self._hits.get(key)
                if window is None:
                    continue
                while window and window[0] <= now - self.window_s:
                    window.popleft()
                if len(window) >= self.limit:
                    retry_s = max(retry_s, window[0] + self.window_s - now)
            if retry_s > 0:
                raise RateLimited(
                    "Too many attempts; try again later.",
                    retry_after_s=max(1, math.ceil(retry_s)),
                )

    def record(self, *keys: str) -> None:
        """Count one attempt (e.g. a failed login) against every key."""
        now = self._clock()
        with self._lock:
            for key in keys:
                self._window(key, now).append(now)

    def reset(self, *keys: str) -> None:
        """Forget the attempts of ``keys`` (e.g. after a successful login)."""
        with self._lock:
            for key in keys:
                self._hits.pop(key, None)

    def _window(self, key: str, now: float) -> deque[float]:
        window = self._hits.get(key)
        if window is None:
            if len(self._hits) >= self._max_keys:
                self._evict(now)
            window = self._hits[key] = deque()
        while window and window[0] <= now - self.window_s:
            window.popleft()
        return window

    def _evict(self, now: float) -> None:
        stale = [
            k for k, w in self._hits.items() if not w or w[-1] <= now - self.window_s
        ]
        for key in stale:
            del self._hits[key]
        if len(self._hits) >= self._max_keys:  # still full: drop the oldest half
            for key in list(self._hits)[: self._max_keys // 2]:
                del self._hits[key]
