"""Sliding-window rate limiting for login and OTP endpoints.

The rules (:class:`SlidingWindowLimiter`: at most ``limit`` hits per key within
``window_s``, all keys checked before any is counted) are separate from where
the hits are kept (:class:`LimiterStorage`): :class:`MemoryLimiterStorage` for one
process, :class:`api.rate_limit_store.PostgresLimiterStorage` when several API
instances share a database (a limit counted on one holds on the others).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from api.errors import RateLimited


class LimiterWindows(Protocol):
    """The hits of some keys, locked against other limiters while open."""

    now: float
    """The storage's clock, in seconds (what ``since`` and hits are measured in)."""

    def hits(self, key: str, since: float) -> list[float]:
        """When ``key`` was hit after ``since``, oldest first."""
        ...

    def add(self, key: str) -> None:
        """Count one hit of ``key`` at :attr:`now`."""
        ...


class LimiterStorage(Protocol):
    """Where a limiter keeps its hits."""

    def windows(
        self, keys: Sequence[str], window_s: float
    ) -> AbstractContextManager[LimiterWindows]:
        """The hits of ``keys``; no other limiter counts them until it closes
        (hits older than ``window_s`` may be forgotten)."""
        ...

    def clear(self, keys: Sequence[str]) -> None:
        """Forget every hit of ``keys``."""
        ...


class SlidingWindowLimiter:
    """At most ``limit`` hits per key within ``window_s``."""

    def __init__(
        self,
        *,
        limit: int,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
        storage: LimiterStorage | None = None,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self.storage: LimiterStorage = storage or MemoryLimiterStorage(
            clock=clock, max_keys=max_keys
        )

    def hit(self, *keys: str) -> None:
        """Count one attempt against every key; raise :class:`RateLimited` if any
        key is already at its limit (nothing is counted then)."""
        with self.storage.windows(keys, self.window_s) as windows:
            self._refuse_at_limit(windows, keys)
            for key in keys:
                windows.add(key)

    def check(self, *keys: str) -> None:
        """Raise :class:`RateLimited` if any key is at its limit; count nothing
        (with :meth:`record`: a limit on failures only)."""
        with self.storage.windows(keys, self.window_s) as windows:
            self._refuse_at_limit(windows, keys)

    def record(self, *keys: str) -> None:
        """Count one attempt (e.g. a failed login) against every key."""
        with self.storage.windows(keys, self.window_s) as windows:
            for key in keys:
                windows.add(key)

    def _refuse_at_limit(self, windows: LimiterWindows, keys: Sequence[str]) -> None:
        now = windows.now
        retry_s = 0.0
        for key in keys:
            hits = windows.hits(key, now - self.window_s)
            if len(hits) >= self.limit:
                retry_s = max(retry_s, hits[0] + self.window_s - now)
        if retry_s > 0:
            raise RateLimited(
                "Too many attempts; try again later.",
                retry_after_s=max(1, math.ceil(retry_s)),
            )

    def reset(self, *keys: str) -> None:
        """Forget the attempts of ``keys`` (e.g. after a successful login)."""
        self.storage.clear(keys)


class _MemoryWindows:
    def __init__(self, storage: MemoryLimiterStorage, now: float) -> None:
        self._storage = storage
        self.now = now

    def hits(self, key: str, since: float) -> list[float]:
        window = self._storage.window(key, since, self.now)
        return list(window)

    def add(self, key: str) -> None:
        self._storage.window(key, -math.inf, self.now).append(self.now)


class MemoryLimiterStorage:
    """Hits in this process's memory (one API instance), bounded to ``max_keys``."""

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys
        self._window_s = 0.0

    @contextmanager
    def windows(self, keys: Sequence[str], window_s: float) -> Iterator[_MemoryWindows]:
        """The hits of ``keys`` under this storage's lock."""
        with self._lock:
            self._window_s = window_s
            yield _MemoryWindows(self, self._clock())

    def clear(self, keys: Sequence[str]) -> None:
        """Forget every hit of ``keys``."""
        with self._lock:
            for key in keys:
                self._hits.pop(key, None)

    def window(self, key: str, since: float, now: float) -> deque[float]:
        """The hits of ``key`` after ``since`` (call under the lock)."""
        window = self._hits.get(key)
        if window is None:
            if len(self._hits) >= self._max_keys:
                self._evict(now)
            window = self._hits[key] = deque()
        while window and window[0] <= max(since, now - self._window_s):
            window.popleft()
        return window

    def _evict(self, now: float) -> None:
        stale = [
            k for k, w in self._hits.items() if not w or w[-1] <= now - self._window_s
        ]
        for key in stale:
            del self._hits[key]
        if len(self._hits) >= self._max_keys:  # still full: drop the oldest half
            for key in list(self._hits)[: self._max_keys // 2]:
                del self._hits[key]
