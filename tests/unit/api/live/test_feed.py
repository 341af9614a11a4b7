"""The dispatchers' sequenced feed: numbering, replay from a snapshot's ``seq``,
and no frame lost or delivered twice around a subscribe."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import Any

import orjson

from api.live.envelope import envelope
from api.live.hub import DISPATCH_TOPIC, FeedStart, Hub, RiderPosition, order_topic


def _drain(
    hub: Hub, sub: Any, loop: asyncio.AbstractEventLoop | None = None
) -> list[dict[str, Any]]:
    runner = loop.run_until_complete if loop else asyncio.run
    frames = runner(sub.next_frames(0.01))
    return [orjson.loads(f) for f in frames]


def _events(frames: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """(seq, n) of the event frames."""
    return [(f["seq"], f["data"]["n"]) for f in frames if f["type"] == "order.placed"]


def _publish(hub: Hub, *ns: int) -> None:
    for n in ns:
        hub.publish(DISPATCH_TOPIC, "order.placed", {"n": n})


def _from_thread(hub: Hub, *ns: int) -> None:
    """Publish from another thread: numbered now, fanned out when the loop runs."""
    t = threading.Thread(target=_publish, args=(hub, *ns))
    t.start()
    t.join()


def test_dispatch_frames_are_numbered_and_other_feeds_are_not() -> None:
    """1, 2, 3 on the dispatch feed; the patient feed carries no ``seq``."""
    hub = Hub(queue_size=64)
    sub, start = hub.subscribe_feed("dispatch")
    patient = hub.subscribe("patient", topics={order_topic("o-1")})
    _publish(hub, 10, 11, 12)
    hub.publish(order_topic("o-1"), "tracking.updated", {"status": "assigned"})
    assert start == FeedStart(0, 0, None)
    assert _events(_drain(hub, sub)) == [(1, 10), (2, 11), (3, 12)]
    assert "seq" not in _drain(hub, patient)[0]
    assert hub.feed_position() == (hub.feed_id, 3)


def test_a_frame_published_between_snapshot_and_subscribe_arrives_once() -> None:
    """Snapshot at seq S, frames S+1.. published before the client subscribes:
    replayed once each, in order, then live frames follow, each once."""
    hub = Hub(queue_size=64)
    _publish(hub, 1, 2)
    feed_id, seq = hub.feed_position()  # the snapshot
    _publish(hub, 3, 4)  # between snapshot and subscribe
    sub, start = hub.subscribe_feed(
        "dispatch",
        since=seq,
        feed_id=feed_id,
        greeting=lambda s: envelope("hello", {"seq": s.seq}, seq=s.seq),
    )
    assert start == FeedStart(2, 2, None)
    _publish(hub, 5)
    frames = _drain(hub, sub)
    assert frames[0]["type"] == "hello"
    assert frames[0]["seq"] == 2
    assert _events(frames) == [(3, 3), (4, 4), (5, 5)]
    _publish(hub, 6)
    assert _events(_drain(hub, sub)) == [(6, 6)]


def test_frames_numbered_but_not_yet_fanned_out_are_neither_lost_nor_doubled() -> None:
    """Another thread published (numbered) while the loop was busy: a client
    whose snapshot includes them skips them; one whose snapshot is older gets
    the replayed and the in-flight frames once each, in order."""
    loop = asyncio.new_event_loop()
    try:
        hub = Hub(queue_size=64)
        hub.bind_loop(loop)  # this thread is the loop's
        _publish(hub, 1)  # on the loop thread: fanned out at once
        _, before = hub.feed_position()
        _from_thread(hub, 2, 3)  # numbered 2 and 3, fan-out pending
        _, after = hub.feed_position()
        assert (before, after) == (1, 3)
        old, old_start = hub.subscribe_feed("dispatch", since=before)
        new, new_start = hub.subscribe_feed("dispatch", since=after)
        live, _ = hub.subscribe_feed("dispatch")
        assert (old_start.replayed, new_start.replayed) == (0, 0)
        loop.run_until_complete(asyncio.sleep(0))  # the pending fan-out runs
        _from_thread(hub, 4)
        loop.run_until_complete(asyncio.sleep(0))
        assert _events(_drain(hub, old, loop)) == [(2, 2), (3, 3), (4, 4)]
        assert _events(_drain(hub, new, loop)) == [(4, 4)]
        assert _events(_drain(hub, live, loop)) == [(4, 4)]
    finally:
        loop.close()


def test_non_event_frames_repeat_the_last_seq() -> None:
    """Positions (and heartbeats, pongs: built with ``sub.seq``) carry the seq of
    the last event frame before them."""
    hub = Hub(queue_size=64)
    sub, _ = hub.subscribe_feed("dispatch")
    _publish(hub, 1, 2)
    hub.publish_position(
        RiderPosition("r1", 35.9, 14.5, datetime(2026, 11, 21, tzinfo=UTC))
    )
    frames = _drain(hub, sub)
    assert [(f["type"], f["seq"]) for f in frames] == [
        ("order.placed", 1),
        ("order.placed", 2),
        ("positions", 2),
    ]
    assert sub.seq == 2


def test_a_position_the_feed_cannot_replay_from_asks_for_a_resync() -> None:
    """Too far back for the client's queue, ahead of the feed, another feed:
    the subscriber starts now and is told to reload the snapshot."""
    hub = Hub(queue_size=16)
    _publish(hub, *range(40))
    for ahead, other_feed, reason in (
        (-38, None, "too_old"),
        (1, None, "ahead"),
        (-1, "0" * 16, "unknown_feed"),
    ):
        _, now = hub.feed_position()
        sub, start = hub.subscribe_feed(
            "dispatch", since=now + ahead, feed_id=other_feed
        )
        assert start == FeedStart(now, 0, reason)
        _publish(hub, 99)
        assert [seq for seq, _ in _events(_drain(hub, sub))] == [now + 1]
    sub, start = hub.subscribe_feed("dispatch", since=38, feed_id=hub.feed_id)
    assert start.resync is None
    assert start.replayed == hub.feed_position()[1] - 38
