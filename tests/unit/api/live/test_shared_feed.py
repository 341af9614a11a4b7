"""The hub when several API instances share the feed (:meth:`Hub.share`): events
go to the journal, numbered frames come back from every instance, other topics
and positions are relayed, and a jump in the numbers makes clients resync."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson

from api.live.envelope import envelope
from api.live.hub import DISPATCH_TOPIC, Hub, RiderPosition, order_topic, rider_topic


def _shared() -> tuple[Hub, list[tuple[str, Any]], list[tuple[str, str]]]:
    hub = Hub(queue_size=64)
    journal: list[tuple[str, Any]] = []
    relayed: list[tuple[str, str]] = []
    hub.share(
        feed_id="db-feed",
        journal=lambda t, d: journal.append((t, d)),
        relay=lambda k, p: relayed.append((k, p)),
    )
    return hub, journal, relayed


def _frame(seq: int, n: int) -> tuple[int, str]:
    return seq, envelope("order.placed", {"n": n}, seq=seq)


def _drain(sub: Any) -> list[dict[str, Any]]:
    return [orjson.loads(f) for f in asyncio.run(sub.next_frames(0.01))]


def test_events_are_journaled_and_only_numbered_frames_are_sent() -> None:
    """Publishing numbers nothing here: the event goes to the journal; the frame
    the database numbered reaches subscribers, once, whoever sent it twice."""
    hub, journal, _ = _shared()
    sub, _ = hub.subscribe_feed("dispatch")
    hub.publish(DISPATCH_TOPIC, "order.placed", {"n": 1})
    assert journal == [("order.placed", {"n": 1})]
    assert _drain(sub) == []
    hub.accept_feed([_frame(1, 1), _frame(2, 2)])
    hub.accept_feed([_frame(2, 2), _frame(3, 3)])  # overlap: a re-read
    assert [(f["seq"], f["data"]["n"]) for f in _drain(sub)] == [(1, 1), (2, 2), (3, 3)]
    assert hub.feed_position() == ("db-feed", 3)


def test_a_snapshot_taken_elsewhere_is_replayed_from_its_seq() -> None:
    """A client with another instance's snapshot (same feed id) gets the frames
    after its ``seq`` from this instance's replay buffer."""
    hub, _, _ = _shared()
    hub.start_feed_at(10)
    hub.accept_feed([_frame(11, 11), _frame(12, 12), _frame(13, 13)])
    sub, start = hub.subscribe_feed("dispatch", since=11, feed_id="db-feed")
    assert start.resync is None
    frames = _drain(sub)
    assert [f["seq"] for f in frames if f["type"] == "order.placed"] == [12, 13]


def test_a_jump_in_the_numbers_closes_feed_clients_for_a_resync() -> None:
    """Frames pruned while this instance was cut off cannot be replayed: its
    feed subscribers are closed (1013) and reload the snapshot."""
    hub, _, _ = _shared()
    loop = asyncio.new_event_loop()
    hub.bind_loop(loop)
    sub, _ = hub.subscribe_feed("dispatch")
    hub.accept_feed([_frame(1, 1)])
    hub.accept_feed([_frame(5, 5)])
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()
    assert sub.close_request == (1013, "feed resync")
    assert hub.feed_gaps == 1


def test_other_topics_and_positions_are_relayed_and_delivered() -> None:
    """A patient's frame and a rider's fix go to the relay; what another instance
    relayed reaches this one's subscribers. Route updates are rebuilt by every
    instance, so they are not relayed."""
    hub, _, relayed = _shared()
    patient = hub.subscribe("patient", topics={order_topic("o-1")})
    dispatcher = hub.subscribe("dispatch", all_positions=True)
    hub.publish(order_topic("o-1"), "tracking.updated", {"status": "assigned"})
    hub.publish(rider_topic("r-1"), "route.updated", {"stops": []})
    fix = RiderPosition("r-1", 35.9, 14.5, datetime(2026, 12, 8, 9, 0, tzinfo=UTC))
    hub.publish_position(fix)
    assert [k for k, _ in relayed] == ["topic", "position"]

    other, _, _ = _shared()
    patient_b = other.subscribe("patient", topics={order_topic("o-1")})
    dispatcher_b = other.subscribe("dispatch", all_positions=True)
    for kind, payload in relayed:
        other.deliver_remote(kind, payload)
    assert [f["type"] for f in _drain(patient_b)] == ["tracking.updated"]
    moved = _drain(dispatcher_b)[0]["data"]
    assert moved == [orjson.loads(fix.to_json())]
    assert other.latest_positions() == [fix]
    assert _drain(patient)  # local subscribers got them too
    assert _drain(dispatcher)
