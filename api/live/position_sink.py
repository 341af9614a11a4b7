"""Persist live rider fixes into dispatch, throttled.

Every fix is fanned out live; dispatch (and so re-planning) needs only material
moves: a fix is stored when ``min_interval_s`` passed or the rider moved more
than ``min_move_m`` since the last stored one.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from dispatch import fleet
from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.domain import GeoPoint
from dispatch.errors import NotFound
from dispatch.geo import haversine_m

log = logging.getLogger(__name__)


class PositionSink:
    """Decides which fixes reach dispatch and stores them."""

    def __init__(
        self, db: Database, *, min_interval_s: float = 15.0, min_move_m: float = 50.0
    ) -> None:
        self._db = db
        self._min_interval_s = min_interval_s
        self._min_move_m = min_move_m
        self._last: dict[str, tuple[datetime, GeoPoint]] = {}
        self._lock = threading.Lock()

    def due(self, rider_id: str, point: GeoPoint, at: datetime) -> bool:
        """Whether this fix should be stored (and reserve it if so)."""
        with self._lock:
            last = self._last.get(rider_id)
            if last is not None:
                elapsed_s = (at - last[0]).total_seconds()
                if (
                    elapsed_s < self._min_interval_s
                    and haversine_m(last[1], point) < self._min_move_m
                ):
                    return False
            self._last[rider_id] = (at, point)
            return True

    def store(self, rider_id: str, point: GeoPoint, at: datetime) -> None:
        """Write the fix (blocking); unknown riders are ignored."""
        try:
            with self._db.transaction() as tx:
                fleet.update_position(tx, rider_id, point, at=at)
        except NotFound:
            log.debug(
                "position of an unregistered rider ignored",
                extra={"rider_id": rider_id},
            )
