"""The re-planner's leader lease: a PostgreSQL session advisory lock held on a
dedicated connection.

Exactly one connection in the database holds the lock; its process is the leader.
A session lock dies with its session, so a killed leader (its socket closed by
the kernel) releases it at once, and a follower polling :meth:`LeaderLease.try_acquire`
every second or so takes over. A leader cut off by the network is covered both
ways: the client side (libpq keepalives and ``tcp_user_timeout``) makes the
leader's :meth:`LeaderLease.check` fail within seconds, so it stops planning;
the server side (the same keepalive settings, per session) ends the dead session
and frees the lock for a follower within ~15 s instead of the kernel's 2 hours.

A leader that lost the lock but has not noticed yet cannot write a plan:
:meth:`LeaderLease.fence`, run inside the plan's transaction, checks that the
lock is still held by this lease's session (process id *and* start time, so a
recycled process id does not pass) and raises :class:`~dispatch.errors.NotLeader`
otherwise; plan versions (a primary key, applied against the version they were
computed on) refuse the rest.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.errors import NotLeader

log = logging.getLogger(__name__)

__all__ = ["REPLANNER_LOCK", "LeaderLease"]

#: (class, object) of the re-planner's advisory lock: "rxdp", 1
REPLANNER_LOCK = (0x72786470, 1)

#: client and server side: a dead peer is noticed in ~5-15 s
CONNECT_ARGS: dict[str, Any] = {
    "autocommit": True,
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 5000,
    "options": (
        "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 "
        "-c tcp_keepalives_count=3 -c tcp_user_timeout=5000 "
        "-c statement_timeout=5000 -c application_name=rxdispatch-leader"
    ),
}

TRY_LOCK = """
SELECT pg_try_advisory_lock(%(class)s, %(object)s) AS held,
       pg_backend_pid() AS pid,
       (SELECT backend_start FROM pg_stat_activity
        WHERE pid = pg_backend_pid()) AS started
"""
STILL_HELD = """
SELECT count(*) AS held FROM pg_locks
WHERE locktype = 'advisory' AND classid = %(class)s AND objid = %(object)s
  AND objsubid = 2 AND granted AND pid = pg_backend_pid()
"""
HELD_BY = """
SELECT count(*) AS held
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.classid = %(class)s AND l.objid = %(object)s
  AND l.objsubid = 2 AND l.granted
  AND l.pid = %(pid)s AND a.backend_start = %(started)s
"""


class LeaderLease:
    """Try, check, fence and release one advisory-lock lease (blocking calls)."""

    def __init__(self, database_url: str, *, lock: tuple[int, int] = REPLANNER_LOCK):
        self._url = database_url
        self._params = {"class": lock[0], "object": lock[1]}
        self._conn: psycopg.Connection[Any] | None = None
        self._holder: tuple[int, datetime] | None = None

    @property
    def held(self) -> bool:
        """Whether this lease believes it holds the lock (see :meth:`check`)."""
        return self._holder is not None

    def try_acquire(self) -> bool:
        """Take the lock if free; False if another session holds it or the
        database cannot be reached."""
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self._url, **CONNECT_ARGS)
            with self._conn.cursor(row_factory=dict_row) as cur:
                row = cur.execute(TRY_LOCK, self._params).fetchone()
        except psycopg.Error as exc:
            self._drop(exc)
            return False
        if row is None or not row["held"]:
            return False
        self._holder = (int(row["pid"]), row["started"])
        return True

    def check(self) -> bool:
        """Whether the lock is still held (False once the session is gone)."""
        if self._conn is None or self._holder is None:
            return False
        try:
            with self._conn.cursor(row_factory=dict_row) as cur:
                row = cur.execute(STILL_HELD, self._params).fetchone()
        except psycopg.Error as exc:
            self._drop(exc)
            return False
        if row is None or int(row["held"]) < 1:
            self._holder = None
            return False
        return True

    def fence(self, tx: Tx) -> None:
        """Raise :class:`NotLeader` unless this lease's session still holds the
        lock (run inside the transaction that writes the plan)."""
        holder = self._holder
        if holder is None:
            raise NotLeader("this re-planner does not hold the leader lease")
        row = tx.fetch_one(
            dict_row,
            HELD_BY,
            {**self._params, "pid": holder[0], "started": holder[1]},
        )
        if row is None or int(row["held"]) < 1:
            raise NotLeader("the leader lease was lost; another planner leads")

    def release(self) -> None:
        """Give the lock up (closing the session frees it even if unlock fails)."""
        self._holder = None
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def _drop(self, exc: psycopg.Error) -> None:
        log.warning(
            "leader lease connection failed", extra={"error": type(exc).__name__}
        )
        self.release()
