"""Dispatch events journaled in their own transaction (``Database.journal``).

With several instances, a command's feed frames are written to the shared feed
inside the command's transaction, just before COMMIT: the change and its frame
become visible together, in commit order across every instance (an event caused
by another instance's event always comes after it), and a process killed right
after its commit cannot lose the frame. Events published outside a transaction
(background workers' alerts, geofences, ETAs) still go through the bus's writer.

After the commit the publisher still runs for the other effects (patient feeds,
route refresh, re-plan triggers); :meth:`FeedJournal.journaled` tells it the
feed frame is already written.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from api.cluster.bus import write_frames
from api.live.publisher import feed_frame
from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.events import DispatchEvent

#: events written but not yet published, at most (a rolled-back commit leaves some)
MAX_PENDING = 10_000


class FeedJournal:
    """Writes a transaction's feed frames inside it; remembers which events."""

    def __init__(self, origin: str) -> None:
        self._origin = origin
        self._lock = threading.Lock()
        # id -> the event itself: holding it keeps the id from being reused
        self._written: OrderedDict[int, DispatchEvent] = OrderedDict()

    def __call__(self, tx: Tx) -> None:
        """Journal ``tx``'s events (called by the Database before COMMIT)."""
        pairs = [(event, feed_frame(event)) for event in tx.events]
        frames = [(event, frame) for event, frame in pairs if frame is not None]
        if not frames:
            return
        write_frames(tx.conn, self._origin, [frame for _, frame in frames])
        with self._lock:
            for event, _ in frames:
                self._written[id(event)] = event
            while len(self._written) > MAX_PENDING:
                self._written.popitem(last=False)

    def journaled(self, event: DispatchEvent) -> bool:
        """Whether ``event``'s frame was written with its transaction (once)."""
        with self._lock:
            return self._written.pop(id(event), None) is event
