"""The cross-instance event bus: PostgreSQL LISTEN/NOTIFY beside a feed table.

Two threads per API instance, each on its own connection (never the pool's):

- the **writer** drains a queue in batches. Dispatch-feed frames are numbered
  by the database (``UPDATE live.feed_head SET seq = seq + n``: the row lock
  orders writers by commit, so the numbers are gap-free in commit order), stored
  in ``live.feed_event`` and announced with ``NOTIFY rxd_feed`` in the same
  transaction; other messages (live frames of other topics, positions, replan
  requests, revocations) are ``NOTIFY`` payloads only. A failed batch is retried
  until it commits: nothing queued is dropped while the database comes back.
- the **listener** ``LISTEN``\\ s, reads the feed rows after the last ``seq`` it
  delivered (on a notification, and every ``poll_s`` in case one was missed)
  and hands them over in order. A dropped connection is reopened and the rows
  written meanwhile are read from the table, so a reconnect loses nothing
  (unless rows older than ``retention_s`` were pruned: the handler sees the gap).

Notifications travel only on commit and a payload is capped at 8000 bytes: feed
frames are therefore read from the table (the payload is only a wake-up), and
other payloads larger than :data:`MAX_PAYLOAD` are dropped with a log line (a
position or a topic frame is a few hundred bytes). Every payload starts with the
sender's ``origin``: an instance ignores its own messages (it handled them
locally already), never its own feed frames (the feed is one for all).
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from api.live.envelope import envelope

log = logging.getLogger(__name__)

FEED_CHANNEL = "rxd_feed"
#: NOTIFY's limit is 8000 bytes; keep room for the origin prefix
MAX_PAYLOAD = 7800
#: libpq keepalives: a leader or listener behind a dead network notices in ~15 s
KEEPALIVES: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "connect_timeout": 5,
}

#: ``application_name`` of the bus's connections (seen in ``pg_stat_activity``)
WRITER_NAME = "rxdispatch-bus-writer"
LISTENER_NAME = "rxdispatch-bus-listener"

FeedRows = list[tuple[int, str, str]]
"""``(seq, origin, frame)`` in ``seq`` order."""

READ_HEAD = "SELECT feed_id, seq FROM live.feed_head"
BUMP_HEAD = "UPDATE live.feed_head SET seq = seq + %(n)s RETURNING seq"
INSERT_FRAME = (
    "INSERT INTO live.feed_event (seq, origin, frame) "
    "VALUES (%(seq)s, %(origin)s, %(frame)s)"
)
READ_FRAMES = """
SELECT seq, origin, frame FROM live.feed_event
WHERE seq > %(after)s ORDER BY seq LIMIT %(limit)s
"""
PRUNE_FRAMES = """
DELETE FROM live.feed_event
WHERE created_at < now() - make_interval(secs => %(keep_s)s)
  AND seq < (SELECT seq FROM live.feed_head) - %(keep_n)s
"""


def write_frames(
    conn: psycopg.Connection[Any], origin: str, frames: list[tuple[str, Any]]
) -> int:
    """Number ``(type, data)`` frames, store them and notify the listeners, in
    the transaction open on ``conn`` (visible when it commits); the last ``seq``.

    The head's row lock is held until that commit: writers are numbered in
    commit order, so a reader of ``seq > last`` never skips one that commits later.
    """
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(BUMP_HEAD, {"n": len(frames)}).fetchone()
        if row is None:
            raise RuntimeError("live.feed_head has no row")
        last = int(row["seq"])
        first = last - len(frames) + 1
        cur.executemany(
            INSERT_FRAME,
            [
                {
                    "seq": first + i,
                    "origin": origin,
                    "frame": envelope(type_, data, seq=first + i),
                }
                for i, (type_, data) in enumerate(frames)
            ],
        )
        cur.execute("SELECT pg_notify(%s, %s)", (FEED_CHANNEL, str(last)))
    return last


@dataclass(frozen=True, slots=True)
class _Frame:
    type: str
    data: Any


@dataclass(frozen=True, slots=True)
class _Notice:
    channel: str
    payload: str


class ClusterBus:
    """One instance's end of the bus (``start`` it, ``stop`` it)."""

    def __init__(
        self,
        database_url: str,
        *,
        channels: tuple[str, ...] = (),
        poll_s: float = 1.0,
        retention_s: float = 3600.0,
        keep_frames: int = 10_000,
    ) -> None:
        self.origin = secrets.token_hex(6)
        self.feed_id = ""
        self._url = database_url
        self._poll_s = poll_s
        self._retention_s = retention_s
        self._keep_frames = keep_frames
        self._queue: queue.SimpleQueue[_Frame | _Notice | None] = queue.SimpleQueue()
        self._channels = channels
        self._handlers: dict[str, Callable[[str], None]] = {}
        self._on_feed: Callable[[FeedRows], None] | None = None
        self._after = 0
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listening = threading.Event()
        self.reconnects = 0
        self.frames_written = 0

    # -- wiring ----------------------------------------------------------------
    def on(self, channel: str, handler: Callable[[str], None] | None) -> None:
        """Call ``handler(body)`` for every message another instance sends on
        ``channel``, one of ``channels`` (on the listener thread: keep it short,
        never block); None: ignore them again."""
        if channel not in self._channels:
            raise ValueError(f"the bus does not listen on {channel!r}")
        if handler is None:
            self._handlers.pop(channel, None)
        else:
            self._handlers[channel] = handler

    def on_feed(self, handler: Callable[[FeedRows], None]) -> None:
        """Call ``handler(rows)`` with the feed frames, in ``seq`` order (set
        before :meth:`start`)."""
        self._on_feed = handler

    # -- sending (any thread, never blocks) ------------------------------------
    def append_feed(self, type_: str, data: Any) -> None:
        """Queue one dispatch-feed event; its ``seq`` is given when written."""
        self._queue.put(_Frame(type_, data))

    def send(self, channel: str, body: str) -> None:
        """Queue a message for the other instances' ``channel`` handlers."""
        self._queue.put(_Notice(channel, body))

    # -- lifecycle -----------------------------------------------------------
    def start(self, *, backlog: int = 0) -> int:
        """Read the feed's id and head, start both threads; the listener starts
        ``backlog`` frames before the head (a new hub's replay buffer). Returns
        the head ``seq``."""
        with psycopg.connect(self._url, autocommit=True, **KEEPALIVES) as conn:
            row = conn.cursor(row_factory=dict_row).execute(READ_HEAD).fetchone()
        if row is None:
            raise RuntimeError("live.feed_head has no row: migrations not applied")
        self.feed_id = str(row["feed_id"])
        head = int(row["seq"])
        self._after = max(0, head - backlog)
        for name, target in (
            ("bus-writer", self._write_loop),
            ("bus-listener", self._listen_loop),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        self._listening.wait(10)
        return head

    def stop(self, timeout_s: float = 10.0) -> None:
        """Write what is queued (up to ``timeout_s``), then stop both threads."""
        self._queue.put(None)
        deadline = time.monotonic() + timeout_s
        writer = self._threads[0] if self._threads else None
        if writer is not None:
            writer.join(max(0.1, deadline - time.monotonic()))
        self._stopping.set()
        for thread in self._threads[1:]:
            thread.join(max(0.1, deadline - time.monotonic()))

    # -- writer ----------------------------------------------------------------
    def _write_loop(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        last_prune = 0.0
        done = False
        while not done:
            first = self._queue.get()
            batch: list[_Frame | _Notice] = []
            if first is None:
                done = True
            else:
                batch.append(first)
            while len(batch) < 500:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    done = True
                else:
                    batch.append(item)
            delay = 0.2
            while batch:
                try:
                    if conn is None or conn.closed:
                        conn = psycopg.connect(
                            self._url, application_name=WRITER_NAME, **KEEPALIVES
                        )
                    self._write(conn, batch)
                    batch = []
                except psycopg.Error as exc:
                    log.warning(
                        "event bus write failed; retrying",
                        extra={"error": type(exc).__name__, "pending": len(batch)},
                    )
                    if conn is not None:
                        conn.close()
                    conn = None
                    if self._stopping.wait(delay):
                        return
                    delay = min(delay * 2, 5.0)
            if conn is not None and time.monotonic() - last_prune > 60:
                last_prune = time.monotonic()
                self._prune(conn)
        if conn is not None:
            conn.close()

    def _write(
        self, conn: psycopg.Connection[Any], batch: list[_Frame | _Notice]
    ) -> None:
        frames = [item for item in batch if isinstance(item, _Frame)]
        notices = dict.fromkeys(
            (n.channel, f"{self.origin}|{n.payload}")
            for n in batch
            if isinstance(n, _Notice)
        )
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            if frames:
                write_frames(conn, self.origin, [(f.type, f.data) for f in frames])
            for channel, payload in notices:
                if len(payload.encode()) > MAX_PAYLOAD:
                    log.warning(
                        "event bus message too large; not sent",
                        extra={"channel": channel, "bytes": len(payload)},
                    )
                    continue
                cur.execute("SELECT pg_notify(%s, %s)", (channel, payload))
        self.frames_written += len(frames)

    def _prune(self, conn: psycopg.Connection[Any]) -> None:
        try:
            with conn.transaction():
                conn.execute(
                    PRUNE_FRAMES,
                    {"keep_s": self._retention_s, "keep_n": self._keep_frames},
                )
        except psycopg.Error as exc:
            log.warning(
                "pruning the feed table failed", extra={"error": type(exc).__name__}
            )

    # -- listener --------------------------------------------------------------
    def _listen_loop(self) -> None:
        delay = 0.2
        while not self._stopping.is_set():
            try:
                with psycopg.connect(
                    self._url,
                    autocommit=True,
                    application_name=LISTENER_NAME,
                    **KEEPALIVES,
                ) as conn:
                    for channel in (FEED_CHANNEL, *self._channels):
                        conn.execute(f'LISTEN "{channel}"')
                    # whatever was written while not listening
                    self._read_feed(conn)
                    self._listening.set()
                    delay = 0.2
                    self._listen(conn)
            except psycopg.Error as exc:
                self.reconnects += 1
                log.warning(
                    "event bus listener lost its connection; reconnecting",
                    extra={"error": type(exc).__name__},
                )
                self._stopping.wait(delay)
                delay = min(delay * 2, 5.0)

    def _listen(self, conn: psycopg.Connection[Any]) -> None:
        while not self._stopping.is_set():
            # a feed notification only wakes the loop: the rows are read after
            # every wait, so a notification lost with a connection costs nothing
            # wait for the first message, then take what else is already here
            notices = list(conn.notifies(timeout=self._poll_s, stop_after=1))
            if notices:
                notices += conn.notifies(timeout=0.001, stop_after=500)
            for notice in notices:
                if notice.channel == FEED_CHANNEL:
                    continue
                origin, _, body = notice.payload.partition("|")
                handler = self._handlers.get(notice.channel)
                if handler is None or origin == self.origin:
                    continue
                try:
                    handler(body)
                except Exception:  # a handler's bug must not stop the bus
                    log.exception("event bus handler failed for %s", notice.channel)
            self._read_feed(conn)

    def _read_feed(self, conn: psycopg.Connection[Any]) -> None:
        while True:
            with conn.cursor(row_factory=dict_row) as cur:
                rows: FeedRows = [
                    (int(r["seq"]), str(r["origin"]), str(r["frame"]))
                    for r in cur.execute(
                        READ_FRAMES, {"after": self._after, "limit": 1000}
                    ).fetchall()
                ]
            if not rows:
                return
            if self._on_feed is not None:
                try:
                    self._on_feed(rows)
                except Exception:
                    log.exception("event bus feed handler failed")
            self._after = rows[-1][0]
            if len(rows) < 1000:
                return
