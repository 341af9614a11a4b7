"""An arrival is stored and announced once, however many API instances (or
jittery fixes) report it: one row per (rider, fence, transition)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from psycopg_pool import ConnectionPool

from api.live.geofence import FenceEvent, FenceKind, Geofence, Transition
from api.live.geofence_store import FenceEventStore
from dispatch.adapters.postgres.database import open_pool


@pytest.fixture
def pools(fresh_db: str) -> Iterator[tuple[ConnectionPool, ConnectionPool]]:
    """Two pools, as two API instances have."""
    first, second = open_pool(fresh_db), open_pool(fresh_db)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def _event(transition: Transition, minute: int) -> FenceEvent:
    fence = Geofence.circle(
        "stop-1", FenceKind.delivery, 35.9, 14.5, 50, order_id="order-1"
    )
    return FenceEvent(
        "rider-1",
        fence,
        transition,
        datetime(2026, 12, 8, 9, minute, tzinfo=UTC),
        35.9,
        14.5,
    )


def test_two_instances_seeing_one_arrival_announce_it_once(
    pools: tuple[ConnectionPool, ConnectionPool],
) -> None:
    """A and B both detect the arrival (and A again after GPS jitter): one row,
    one announcement; the departure is its own event."""
    on_a, on_b = FenceEventStore(pools[0]), FenceEventStore(pools[1])
    announced: list[str] = []
    on_a.record(_event(Transition.arrived, 1), lambda: announced.append("a"))
    on_b.record(_event(Transition.arrived, 1), lambda: announced.append("b"))
    on_a.record(_event(Transition.arrived, 3), lambda: announced.append("a again"))
    on_b.record(_event(Transition.departed, 5), lambda: announced.append("left"))
    assert announced == ["a", "left"]
    rows = on_b.events_of("rider-1")
    assert [row["transition"] for row in rows] == ["arrived", "departed"]
