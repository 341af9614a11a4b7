"""Telemetry on a warped business clock (a simulator driving the server at 30x):
readings stamped in business time are accepted, and every excursion stamp
(detection, silence, notification) is business time, not the database's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from dispatch.clock import WarpClock
from telemetry.ingest import IngestParams
from telemetry.model import BoxId, Reading
from telemetry.monitor import ExcursionMonitor
from telemetry.notify import ExcursionNotifier
from telemetry.service import IngestService
from telemetry.store import TelemetryStore

from .helpers import (
    Publisher,
    forget_session,
    reading,
    scalar,
    wait_for,
    wait_subscribed,
)

WEEK = timedelta(days=7)
INSTANT = (
    "INSERT INTO telemetry.temperature_profile VALUES "
    "('instant', 'alarm at once', 2, 8, 0.5, 0, 0, 86400)"
)


class FrozenWall:
    """A wall clock that moves only when told, for exact business instants."""

    def __init__(self) -> None:
        self.s = float(int(time.time()))  # whole seconds: exact sums

    def __call__(self) -> float:
        return self.s


def _excursion(url: str, excursion_id: int) -> tuple[datetime, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT started_at, alarmed_at, detected_at, ended_at, notified_at"
            " FROM telemetry.excursion WHERE id = %s",
            (excursion_id,),
        ).fetchone()
    assert row is not None
    return tuple(row)


@pytest.fixture
def wall() -> FrozenWall:
    return FrozenWall()


@pytest.fixture
def clock(wall: FrozenWall) -> WarpClock:
    return WarpClock(datetime.now(UTC) + WEEK, wall.s, 30.0, wall=wall)


@pytest.fixture
def store(fresh_db: str, clock: WarpClock) -> Iterator[TelemetryStore]:
    with psycopg.connect(fresh_db) as conn:
        conn.execute(INSTANT)
    s = TelemetryStore(fresh_db, clock=clock)
    s.register_box("box-quiet")  # silent after 3 x 60 s
    s.register_box("box-hot", profile_code="instant")
    yield s
    s.close()


def test_silence_is_judged_and_stamped_in_business_time(
    store: TelemetryStore, clock: WarpClock, wall: FrozenWall, fresh_db: str
) -> None:
    """A box last heard a week ahead of the wall clock goes silent after 180
    business seconds (6 wall seconds at 30x), and comes back in business time."""
    box = BoxId("box-quiet")
    monitor = ExcursionMonitor(store, store.box_rules().get)
    heard_at = clock.now()
    # no received_at: the store stamps arrival with its clock
    monitor.process(store.write_batch([Reading(box, 1, heard_at, 5.0)]).inserted)
    assert scalar(fresh_db, "SELECT last_received_at FROM telemetry.box_latest") == (
        heard_at
    )
    wall.s += 5.0  # 150 business seconds: not yet silent
    assert monitor.check_silence() == []
    wall.s += 2.0  # 210 business seconds
    (silence,) = monitor.check_silence()
    started_at, alarmed_at, detected_at, ended_at, _ = _excursion(fresh_db, silence)
    assert started_at == heard_at
    assert alarmed_at == detected_at == heard_at + timedelta(seconds=210)
    assert ended_at is None
    wall.s += 1.0
    back_at = clock.now()
    monitor.process(store.write_batch([Reading(box, 2, back_at, 5.0)]).inserted)
    assert _excursion(fresh_db, silence)[3] == back_at


def test_excursion_detection_and_notification_are_business_time(
    store: TelemetryStore, clock: WarpClock, wall: FrozenWall, fresh_db: str
) -> None:
    """``detected_at`` and ``notified_at`` come from the business clock, so the
    detection delay is measured against the readings' own (warped) time."""
    box = BoxId("box-hot")
    monitor = ExcursionMonitor(store, store.box_rules().get)
    hot_at = clock.now()
    wall.s += 1.0  # 30 business seconds from reading to detection
    (excursion_id,) = monitor.process(
        store.write_batch([Reading(box, 1, hot_at, 12.0)]).inserted
    )
    detected_at = _excursion(fresh_db, excursion_id)[2]
    assert detected_at == clock.now()
    assert detected_at - hot_at == timedelta(seconds=30)
    wall.s += 1.0
    assert ExcursionNotifier(store).notify(excursion_id)
    assert _excursion(fresh_db, excursion_id)[4] == clock.now()


@pytest.fixture
def warped_service(
    fresh_db: str, mqtt_url: str, unique_id: str
) -> Iterator[IngestService]:
    store = TelemetryStore(fresh_db)
    store.register_box("box-a")
    store.close()
    svc = IngestService(
        database_url=fresh_db,
        mqtt_url=mqtt_url,
        client_id=f"ingest-{unique_id}",
        params=IngestParams(topic_prefix=f"rxd-test-{unique_id}/v1"),
        clock=WarpClock(datetime.now(UTC) + WEEK, time.time(), 30.0),
    )
    with svc:
        wait_subscribed(svc)
        yield svc
    forget_session(mqtt_url, f"ingest-{unique_id}")


def test_readings_stamped_in_business_time_are_accepted_over_mqtt(
    warped_service: IngestService, fresh_db: str, mqtt_url: str, unique_id: str
) -> None:
    """A sensor of the simulator stamps readings a week ahead of the wall clock:
    the worker's arrival time is business time, so they are stored, not
    dead-lettered as ``timestamp_in_future``."""
    clock = warped_service.store.clock
    publisher = Publisher(mqtt_url, f"pub-{unique_id}", f"rxd-test-{unique_id}/v1")
    try:
        publisher.send("box-a", [reading(i, 5.0, at=clock.now()) for i in range(3)])
        publisher.wait_acked(1)
        wait_for(
            lambda: scalar(fresh_db, "SELECT count(*) FROM telemetry.reading") == 3,
            what="3 stored readings",
        )
    finally:
        publisher.close()
    assert scalar(fresh_db, "SELECT count(*) FROM telemetry.dead_letter") == 0
    last_received_at = scalar(
        fresh_db, "SELECT last_received_at FROM telemetry.box_latest"
    )
    assert last_received_at > datetime.now(UTC) + WEEK - timedelta(days=1)
