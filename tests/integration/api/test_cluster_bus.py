"""The event bus on a real PostgreSQL: a listener whose connection is cut
reconnects and delivers every frame written meanwhile, once and in order."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg

from api.cluster.bus import LISTENER_NAME, ClusterBus, FeedRows


def _wait(what: str, check: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_dropped_listener_misses_nothing(fresh_db: str) -> None:
    """B's listener connection is terminated while A keeps journaling: B
    reconnects, reads the rows it missed, and has seq 1..20 exactly once each;
    messages to other instances' handlers arrive, one's own are not echoed."""
    sender = ClusterBus(fresh_db, channels=("rxd_test",))
    receiver = ClusterBus(fresh_db, channels=("rxd_test",))
    seqs: list[int] = []
    heard: list[str] = []
    lock = threading.Lock()

    def on_feed(rows: FeedRows) -> None:
        with lock:
            seqs.extend(seq for seq, _, _ in rows)

    receiver.on_feed(on_feed)
    receiver.on("rxd_test", heard.append)
    sender.on("rxd_test", lambda body: heard.append(f"echo {body}"))
    sender.start()
    receiver.start()
    try:
        for n in range(10):
            sender.append_feed("order.placed", {"n": n})
        _wait("the first frames", lambda: len(seqs) >= 10)
        with psycopg.connect(fresh_db, autocommit=True) as admin:
            cut = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s AND datname = current_database()",
                (LISTENER_NAME,),
            ).fetchall()
        assert len(cut) == 2  # both buses' listeners
        for n in range(10, 20):
            sender.append_feed("order.placed", {"n": n})
        _wait("the frames written while cut off", lambda: len(seqs) >= 20)
        _wait("a reconnect", lambda: receiver.reconnects >= 1)
        sender.send("rxd_test", "hello")
        _wait("the message", lambda: bool(heard))
    finally:
        sender.stop()
        receiver.stop()
    assert seqs == list(range(1, 21))
    assert heard == ["hello"]
