"""Live fan-out to websocket clients: bounded per-client buffers, coalesced positions.

A slow client never slows the others: publishing only appends to each
subscriber's buffer (O(1), never awaits); each connection has its own sender
task. Positions are coalesced to the latest per rider; other events are kept in
order up to ``queue_size``, beyond which the subscriber is marked overflowed and
its connection is closed with 1013. Publishing is thread-safe: calls from other
threads are handed to the hub's event loop.

The dispatchers' feed (:data:`DISPATCH_TOPIC`) is sequenced: each event frame
gets the next number of the feed (``seq``, 1, 2, ...) the moment it is
published, in the publishing thread, so the number is fixed before anyone can
read a later one (:meth:`Hub.feed_position`); frames reach subscribers in that
order. The last ``queue_size`` frames are kept, so a client that loaded a
snapshot at ``seq`` S and subscribes later gets exactly the frames after S
(:meth:`Hub.subscribe_feed`). ``feed_id`` names this hub's numbering (a
restarted process, or another process, numbers from 1 again).

Shared (:meth:`Hub.share`, several API instances on one database): the feed is
numbered by the database instead (:mod:`api.cluster.bus`). Publishing hands the
event to the ``journal``; the numbered frames come back, from every instance,
through :meth:`Hub.accept_feed` (same lock, same replay buffer, same fan-out), so
a client sees one gap-free sequence whichever instance it is connected to, and
``feed_id`` is the database's. Other topics' frames and positions are fanned out
here and handed to the ``relay``; the other instances' arrive through
:meth:`Hub.deliver_remote`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anyio
import orjson

from api.live.envelope import envelope, positions_frame
from api.serialization import dumps_text

log = logging.getLogger(__name__)

DISPATCH_TOPIC = "dispatch"

#: frame types every instance rebuilds itself from the database (never relayed)
REBUILT_PER_INSTANCE = frozenset({"route.updated"})


def rider_topic(rider_id: str) -> str:
    """Topic of one rider's own feed (route updates)."""
    return f"rider:{rider_id}"


def order_topic(order_id: str) -> str:
    """Topic of one order's patient feed."""
    return f"order:{order_id}"


@dataclass(frozen=True, slots=True)
class RiderPosition:
    """A rider's latest fix as fanned out to clients."""

    rider_id: str
    lat: float
    lon: float
    at: datetime
    speed_mps: float | None = None
    heading_deg: float | None = None
    client_ts_ms: int | None = None

    def to_json(self) -> str:
        """The serialized object inside a ``positions`` frame."""
        data: dict[str, Any] = {
            "rider_id": self.rider_id,
            "lat": self.lat,
            "lon": self.lon,
            "at": self.at,
        }
        if self.speed_mps is not None:
            data["speed_mps"] = self.speed_mps
        if self.heading_deg is not None:
            data["heading_deg"] = self.heading_deg
        if self.client_ts_ms is not None:
            data["client_ts_ms"] = self.client_ts_ms
        return dumps_text(data)

    def to_patient_json(self) -> str:
        """What a patient's ``positions`` frame holds: where and when only, with
        no internal rider id (``rider_id: null``), speed or heading."""
        return dumps_text(
            {"rider_id": None, "lat": self.lat, "lon": self.lon, "at": self.at}
        )


@dataclass(eq=False)
class Subscriber:
    """One connected client's buffers; drained by its connection's sender task."""

    audience: str
    queue_size: int
    topics: set[str] = field(default_factory=set)
    all_positions: bool = False
    id: int = field(default_factory=itertools.count(1).__next__)
    overflowed: bool = False
    #: (close code, reason) once the connection must close (e.g. token expired)
    close_request: tuple[int, str] | None = None
    seq: int | None = None
    """Sequenced feed only: the ``seq`` of the last feed frame queued (frames at
    or below it are skipped); None on unsequenced feeds."""
    _events: deque[str] = field(default_factory=deque)
    _positions: dict[str, str] = field(default_factory=dict)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def offer_event(self, frame: str, seq: int | None = None) -> None:
        """Queue an event frame; overflow marks the subscriber for closing.

        A feed frame (``seq`` given) already queued or older than where this
        subscriber joined the feed is skipped: never twice, never backwards.
        """
        if seq is not None and self.seq is not None:
            if seq <= self.seq:
                return
            self.seq = seq
        if len(self._events) >= self.queue_size:
            self.overflowed = True
        else:
            self._events.append(frame)
        self._wake.set()

    def request_close(self, code: int, reason: str) -> None:
        """Ask the connection's sender to close the socket with ``code``."""
        if self.close_request is None:
            self.close_request = (code, reason)
        self._wake.set()

    def offer_position(self, rider_id: str, fragment: str) -> None:
        """Replace the pending position of ``rider_id`` (coalescing)."""
        self._positions[rider_id] = fragment
        self._wake.set()

    def pending(self) -> int:
        """Frames waiting (positions count as one frame)."""
        return len(self._events) + (1 if self._positions else 0)

    async def next_frames(self, timeout_s: float, batch_s: float = 0.0) -> list[str]:
        """Frames to send now; empty after ``timeout_s`` with nothing to send.

        When only positions are pending, waits ``batch_s`` first so that one frame
        carries every rider that moved meanwhile (far fewer sends at scale).
        """
        if not self._events and not self._positions:
            self._wake.clear()
            with anyio.move_on_after(timeout_s):
                await self._wake.wait()
            if self.close_request is not None:
                return []
            if not self._events and not self._positions:
                return []
        if batch_s > 0 and not self._events:
            await anyio.sleep(batch_s)
        frames = list(self._events)
        self._events.clear()
        if self._positions:
            frames.append(positions_frame(list(self._positions.values()), seq=self.seq))
            self._positions.clear()
        return frames


@dataclass(frozen=True, slots=True)
class FeedStart:
    """Where a new subscriber joins the sequenced feed."""

    seq: int
    """The feed frames after this one reach the subscriber."""
    replayed: int
    """Frames sent from the replay buffer (published before subscribing)."""
    resync: str | None
    """Why the requested position could not be honoured (the client must load
    a fresh snapshot): ``unknown_feed``, ``too_old`` or ``ahead``; else None."""


class Hub:
    """Routes frames to subscribers by topic and positions by rider."""

    def __init__(self, *, queue_size: int = 256) -> None:
        self.queue_size = queue_size
        self.feed_id = secrets.token_hex(8)
        self._feed_lock = threading.Lock()
        self._feed_seq = 0
        # a client can take no more than its queue: replaying more is pointless
        self._replay: deque[tuple[int, str]] = deque(maxlen=queue_size)
        self._outbox: deque[tuple[int, str]] = deque()
        self._by_topic: dict[str, set[Subscriber]] = {}
        self._all_positions: set[Subscriber] = set()
        self._by_rider: dict[str, set[Subscriber]] = {}
        self._latest: dict[str, RiderPosition] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self.frames_published = 0
        self.positions_published = 0
        self.closed_slow = 0
        self.feed_gaps = 0
        self._journal: Callable[[str, Any], None] | None = None
        self._relay: Callable[[str, str], None] | None = None

    def share(
        self,
        *,
        feed_id: str,
        journal: Callable[[str, Any], None],
        relay: Callable[[str, str], None],
    ) -> None:
        """Number the feed elsewhere (see module docstring); call before serving."""
        with self._feed_lock:
            self.feed_id = feed_id
            self._journal = journal
            self._relay = relay

    @property
    def shared(self) -> bool:
        """Whether the feed is numbered by the database (several instances)."""
        return self._journal is not None

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """The event loop that owns the subscribers (set at startup)."""
        self._loop = loop
        self._loop_thread = threading.get_ident()

    # -- subscription ---------------------------------------------------
    def subscribe(
        self,
        audience: str,
        *,
        topics: set[str] | None = None,
        all_positions: bool = False,
        riders: set[str] | None = None,
    ) -> Subscriber:
        """A new subscriber (call on the hub's loop)."""
        sub = Subscriber(
            audience=audience,
            queue_size=self.queue_size,
            topics=set(topics or ()),
            all_positions=all_positions,
        )
        for topic in sub.topics:
            self._by_topic.setdefault(topic, set()).add(sub)
        if all_positions:
            self._all_positions.add(sub)
        for rider_id in riders or ():
            self.follow_rider(sub, rider_id)
        return sub

    def subscribe_feed(
        self,
        audience: str,
        *,
        since: int | None = None,
        feed_id: str | None = None,
        greeting: Callable[[FeedStart], str] | None = None,
        all_positions: bool = True,
    ) -> tuple[Subscriber, FeedStart]:
        """A subscriber of the sequenced dispatch feed (call on the hub's loop).

        ``greeting(start)`` is queued first. With ``since`` (the ``seq`` of a
        snapshot of this feed, ``feed_id``), the frames published after it come
        next, from the replay buffer; frames still on their way are skipped if at
        or below ``since``. When the buffer no longer reaches back that far (or
        the frames would not fit the client's queue), ``since`` is ahead of the
        feed, or ``feed_id`` names another feed, the subscriber starts at the
        current position and :attr:`FeedStart.resync` says why.
        """
        sub = self.subscribe(audience, all_positions=all_positions)
        with self._feed_lock:
            current = self._feed_seq
            # frames published but not yet fanned out reach every subscriber
            # registered before the fan-out runs, this one included
            in_flight = self._outbox[0][0] if self._outbox else current + 1
            resync = None
            if since is None:
                start = current
            elif feed_id is not None and feed_id != self.feed_id:
                start, resync = current, "unknown_feed"
            elif since > current:
                start, resync = current, "ahead"
            elif current - since > self.queue_size - max(1, self.queue_size // 8) or (
                since + 1 < in_flight
                and (not self._replay or self._replay[0][0] > since + 1)
            ):
                start, resync = current, "too_old"
            else:
                start = since
            replay = [
                (seq, frame)
                for seq, frame in self._replay
                if resync is None and start < seq < in_flight
            ]
            info = FeedStart(start, len(replay), resync)
            if greeting is not None:
                sub.offer_event(greeting(info))
            sub.seq = start
            for seq, frame in replay:
                sub.offer_event(frame, seq)
            self._by_topic.setdefault(DISPATCH_TOPIC, set()).add(sub)
            sub.topics.add(DISPATCH_TOPIC)
        return sub, info

    def feed_position(self) -> tuple[str, int]:
        """This feed's id and the ``seq`` of its latest frame."""
        with self._feed_lock:
            return self.feed_id, self._feed_seq

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget ``sub`` everywhere."""
        for topic in sub.topics:
            subs = self._by_topic.get(topic)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._by_topic[topic]
        self._all_positions.discard(sub)
        for rider_id in list(self._by_rider):
            self.unfollow_rider(sub, rider_id)

    def follow_rider(self, sub: Subscriber, rider_id: str) -> None:
        """Send ``rider_id``'s positions to ``sub`` (patients while approached)."""
        self._by_rider.setdefault(rider_id, set()).add(sub)

    def unfollow_rider(self, sub: Subscriber, rider_id: str) -> None:
        """Stop sending ``rider_id``'s positions to ``sub``."""
        subs = self._by_rider.get(rider_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._by_rider[rider_id]

    @property
    def subscriber_count(self) -> int:
        """Distinct connected subscribers."""
        subs: set[Subscriber] = set(self._all_positions)
        for group in self._by_topic.values():
            subs |= group
        return len(subs)

    def latest_positions(self) -> list[RiderPosition]:
        """The last known fix of every rider (snapshot for new dispatch clients)."""
        return list(self._latest.values())

    def forget_rider(self, rider_id: str) -> None:
        """Drop the cached position of a rider (shift ended)."""
        self._latest.pop(rider_id, None)

    # -- publishing (thread-safe) -----------------------------------------
    def publish(self, topic: str, type_: str, data: Any) -> None:
        """Send an event envelope to every subscriber of ``topic``."""
        if topic == DISPATCH_TOPIC:
            self._publish_feed(type_, data)
            return
        frame = envelope(type_, data)
        self._on_loop(self._publish_frame, topic, frame)
        if self._relay is not None and type_ not in REBUILT_PER_INSTANCE:
            self._relay("topic", f"{topic}\n{frame}")

    def _publish_feed(self, type_: str, data: Any) -> None:
        if self._journal is not None:
            self._journal(type_, data)  # numbered by the database, comes back
            return
        # numbered here, in the caller's thread: the seq exists before this
        # returns (after the caller's commit), whatever the loop is doing
        with self._feed_lock:
            self._feed_seq += 1
            seq = self._feed_seq
            frame = envelope(type_, data, seq=seq)
            self._replay.append((seq, frame))
            self._outbox.append((seq, frame))
        self._on_loop(self._flush_feed)

    def _flush_feed(self) -> None:
        """Fan out every numbered frame not yet sent, in order (on the loop)."""
        with self._feed_lock:
            frames = list(self._outbox)
            self._outbox.clear()
        subs = tuple(self._by_topic.get(DISPATCH_TOPIC, ()))
        for seq, frame in frames:
            self.frames_published += 1
            for sub in subs:
                sub.offer_event(frame, seq)

    def publish_position(self, position: RiderPosition) -> None:
        """Fan out a rider position (coalesced per subscriber)."""
        self._on_loop(self._publish_position, position)
        if self._relay is not None:
            self._relay("position", position.to_json())

    # -- shared feed (thread-safe) ------------------------------------------
    def accept_feed(self, frames: list[tuple[int, str]]) -> None:
        """Frames numbered by the database, in ``seq`` order, from every instance.

        Frames at or below the current ``seq`` are ignored (never twice). A jump
        (frames pruned while this instance was cut off) empties the replay
        buffer and closes the feed's subscribers with 1013: their clients reload
        the snapshot, as after any reconnect.
        """
        gap = False
        with self._feed_lock:
            for seq, frame in frames:
                if seq <= self._feed_seq:
                    continue
                if seq != self._feed_seq + 1 and self._feed_seq > 0:
                    gap = True
                    self._replay.clear()
                self._feed_seq = seq
                self._replay.append((seq, frame))
                self._outbox.append((seq, frame))
        if gap:
            self.feed_gaps += 1
            log.warning("the shared feed jumped; feed clients must resync")
            self._on_loop(self._close_feed, "feed resync")
        self._on_loop(self._flush_feed)

    def start_feed_at(self, seq: int) -> None:
        """Shared feed: the database's head when this instance starts (frames
        pruned before it cannot be replayed)."""
        with self._feed_lock:
            if self._feed_seq < seq:
                self._feed_seq = seq
                self._replay.clear()

    def _close_feed(self, reason: str) -> None:
        for sub in tuple(self._by_topic.get(DISPATCH_TOPIC, ())):
            sub.request_close(1013, reason)

    def deliver_remote(self, kind: str, payload: str) -> None:
        """A frame or position another instance relayed (see :meth:`share`)."""
        if kind == "topic":
            topic, _, frame = payload.partition("\n")
            self._on_loop(self._publish_frame, topic, frame)
        elif kind == "position":
            raw = orjson.loads(payload)
            position = RiderPosition(
                rider_id=str(raw["rider_id"]),
                lat=float(raw["lat"]),
                lon=float(raw["lon"]),
                at=datetime.fromisoformat(str(raw["at"])),
                speed_mps=raw.get("speed_mps"),
                heading_deg=raw.get("heading_deg"),
                client_ts_ms=raw.get("client_ts_ms"),
            )
            self._on_loop(self._publish_position, position)

    async def wait_for_seq(self, seq: int, timeout_s: float) -> bool:
        """Wait until the feed reached ``seq`` (a snapshot taken on another
        instance may be ahead of this one for a moment); False on timeout."""
        deadline = time.monotonic() + timeout_s
        while self.feed_position()[1] < seq:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    def call_on_loop(self, fn: Any, *args: Any) -> None:
        """Run ``fn(*args)`` on the hub's loop (now if already on it)."""
        self._on_loop(fn, *args)

    def _on_loop(self, fn: Any, *args: Any) -> None:
        loop = self._loop
        if loop is None or threading.get_ident() == self._loop_thread:
            fn(*args)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(fn, *args)

    def _publish_frame(self, topic: str, frame: str) -> None:
        self.frames_published += 1
        for sub in tuple(self._by_topic.get(topic, ())):
            sub.offer_event(frame)

    def _publish_position(self, position: RiderPosition) -> None:
        self.positions_published += 1
        self._latest[position.rider_id] = position
        fragment = position.to_json()
        for sub in self._all_positions:
            sub.offer_position(position.rider_id, fragment)
        followers = self._by_rider.get(position.rider_id, ())
        if followers:
            patient_fragment = position.to_patient_json()
            for sub in followers:
                sub.offer_position(position.rider_id, patient_fragment)
