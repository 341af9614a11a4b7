"""Rate-limit hits in PostgreSQL (``api.rate_limit_hit``): one limit for every
API instance on the database.

A check takes a transaction-scoped advisory lock per key (in sorted order, so two
checks never deadlock), reads the key's hits in the window, and inserts the new
hit before committing: two instances counting the same key at once are
serialised, so the limit is never overshot. Times are the database's
(``clock_timestamp()``), one clock for every instance. Hits older than the
window are deleted as keys are checked.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

LOCK_KEY = "SELECT pg_advisory_xact_lock(hashtextextended('rate:' || %(key)s, 0))"
NOW = "SELECT extract(epoch FROM clock_timestamp())::float8 AS now"
FORGET_OLD = """
DELETE FROM api.rate_limit_hit WHERE key = %(key)s AND at <= to_timestamp(%(before)s)
"""
SELECT_HITS = """
SELECT extract(epoch FROM at)::float8 AS at FROM api.rate_limit_hit
WHERE key = %(key)s AND at > to_timestamp(%(since)s) ORDER BY at
"""
INSERT_HIT = (
    "INSERT INTO api.rate_limit_hit (key, at) VALUES (%(key)s, to_timestamp(%(at)s))"
)
DELETE_KEYS = "DELETE FROM api.rate_limit_hit WHERE key = ANY(%(keys)s)"


class _PostgresWindows:
    def __init__(self, conn: psycopg.Connection[Any], now: float, prefix: str) -> None:
        self._conn = conn
        self._prefix = prefix
        self.now = now

    def hits(self, key: str, since: float) -> list[float]:
        with self._conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(
                SELECT_HITS, {"key": self._prefix + key, "since": since}
            ).fetchall()
        return [float(row["at"]) for row in rows]

    def add(self, key: str) -> None:
        self._conn.execute(INSERT_HIT, {"key": self._prefix + key, "at": self.now})


class PostgresLimiterStorage:
    """A :class:`~api.rate_limit.LimiterStorage` on the API's pool; keys are
    stored under ``namespace`` (one per limiter)."""

    def __init__(self, pool: ConnectionPool, *, namespace: str) -> None:
        self._pool = pool
        self._prefix = f"{namespace}:"

    @contextmanager
    def windows(
        self, keys: Sequence[str], window_s: float
    ) -> Iterator[_PostgresWindows]:
        """The hits of ``keys``, locked until the transaction ends (a raise
        inside rolls back: nothing counted)."""
        with self._pool.connection() as conn, conn.transaction():
            for key in sorted({self._prefix + k for k in keys}):
                conn.execute(LOCK_KEY, {"key": key})
            with conn.cursor(row_factory=dict_row) as cur:
                row = cur.execute(NOW).fetchone()
            if row is None:
                raise RuntimeError("the database returned no time")
            now = float(row["now"])
            for key in keys:
                conn.execute(
                    FORGET_OLD, {"key": self._prefix + key, "before": now - window_s}
                )
            yield _PostgresWindows(conn, now, self._prefix)

    def clear(self, keys: Sequence[str]) -> None:
        """Forget every hit of ``keys``."""
        with self._pool.connection() as conn:
            conn.execute(DELETE_KEYS, {"keys": [self._prefix + k for k in keys]})
