"""Persist geofence arrivals/departures (schema ``live``) off the event loop.

One row per (rider, fence, transition): an arrival seen twice (by two API
instances, or after GPS jitter) is stored once. With ``claim`` (several
instances) it is also announced once: stored first, announced only by the
instance whose row it is. Without, the event is announced at once and stored in
the background (one instance: the fence frame goes out before the ETA it pins).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from api.live.geofence import FenceEvent

log = logging.getLogger(__name__)

INSERT_FENCE_EVENT = """
INSERT INTO live.geofence_event
    (rider_id, fence_id, fence_kind, order_id, transition, occurred_at, lat, lon)
VALUES (%(rider_id)s, %(fence_id)s, %(kind)s, %(order_id)s, %(transition)s,
        %(occurred_at)s, %(lat)s, %(lon)s)
ON CONFLICT (rider_id, fence_id, transition) DO NOTHING
RETURNING event_id
"""
SELECT_FENCE_EVENTS = """
SELECT rider_id, fence_id, fence_kind, order_id, transition, occurred_at, lat, lon
FROM live.geofence_event WHERE rider_id = %(rider_id)s ORDER BY occurred_at, event_id
"""


class FenceEventStore:
    """Writes fence events in a worker thread; reads them back for queries."""

    def __init__(self, pool: ConnectionPool, *, claim: bool = False) -> None:
        self._pool = pool
        self.claim = claim

    def insert(self, event: FenceEvent) -> bool:
        """Store one event (blocking); False when it was already stored."""
        with self._pool.connection() as conn:
            row = conn.execute(
                INSERT_FENCE_EVENT,
                {
                    "rider_id": event.rider_id,
                    "fence_id": event.fence.fence_id,
                    "kind": event.fence.kind.value,
                    "order_id": event.fence.order_id,
                    "transition": event.transition.value,
                    "occurred_at": event.occurred_at,
                    "lat": event.lat,
                    "lon": event.lon,
                },
            ).fetchone()
        return row is not None

    def record(self, event: FenceEvent, announce: Callable[[], None]) -> None:
        """Store ``event``, then ``announce()`` it if it is new (blocking)."""
        if self.insert(event):
            announce()

    def record_soon(self, event: FenceEvent, announce: Callable[[], None]) -> None:
        """:meth:`record` without blocking the calling event loop (without
        ``claim``: announced now, stored in the background)."""
        if not self.claim:
            announce()
            announce = _nothing
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.record(event, announce)
            return
        future = loop.run_in_executor(None, self.record, event, announce)
        future.add_done_callback(_log_failure)

    def events_of(self, rider_id: str) -> list[dict[str, object]]:
        """Every stored event of a rider, oldest first."""
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(SELECT_FENCE_EVENTS, {"rider_id": rider_id}).fetchall()


def _nothing() -> None:
    return None


def _log_failure(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("could not store a geofence event", exc_info=future.exception())
