"""A short-lived, bounded cache of device-token checks (rider requests are many).

Keys are token digests (never tokens). An entry lives ``ttl_s`` seconds at most;
beyond ``max_entries`` the least recently used go first. Revocation in this
process evicts the rider's entries at once; a check that was already reading the
database when a revocation happened is not cached (the epoch moved). Another
process revoking is seen here within ``ttl_s`` at the latest.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

#: default bound of the cache, in entries (one per live device token)
MAX_ENTRIES = 10_000


class DeviceTokenCache:
    """Token digest -> rider id, for at most ``ttl_s`` seconds (0: no caching)."""

    def __init__(
        self,
        ttl_s: float,
        *,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self.ttl_s = ttl_s
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        # digest -> (rider id, cache deadline, the token's own expiry)
        self._entries: OrderedDict[bytes, tuple[str, float, datetime | None]] = (
            OrderedDict()
        )
        self._epoch = 0

    @property
    def epoch(self) -> int:
        """Take before reading the database; pass to :meth:`put`."""
        with self._lock:
            return self._epoch

    def get(self, digest: bytes) -> str | None:
        """The cached rider id, or None (unknown or expired)."""
        found = self.lookup(digest)
        return found[0] if found else None

    def lookup(self, digest: bytes) -> tuple[str, datetime | None] | None:
        """The cached rider id and the token's expiry, or None."""
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if self._clock() >= entry[1]:
                del self._entries[digest]
                return None
            self._entries.move_to_end(digest)
            return entry[0], entry[2]

    def put(
        self,
        digest: bytes,
        rider_id: str,
        epoch: int,
        *,
        max_ttl_s: float | None = None,
        expires_at: datetime | None = None,
    ) -> None:
        """Cache a check read at ``epoch``, unless a revocation came since; for
        ``ttl_s`` or until the token expires (``max_ttl_s``), whichever is first.
        ``expires_at`` is the token's expiry, returned by :meth:`lookup`."""
        ttl_s = self.ttl_s if max_ttl_s is None else min(self.ttl_s, max_ttl_s)
        if ttl_s <= 0:
            return
        with self._lock:
            if epoch != self._epoch:
                return
            self._entries[digest] = (rider_id, self._clock() + ttl_s, expires_at)
            self._entries.move_to_end(digest)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def evict_rider(self, rider_id: str) -> None:
        """Forget every token of ``rider_id`` (call after the revocation committed)."""
        with self._lock:
            self._epoch += 1
            for digest in [
                d for d, (r, _, _) in self._entries.items() if r == rider_id
            ]:
                del self._entries[digest]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
