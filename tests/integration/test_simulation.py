"""The simulator against the real system: cold boxes over MQTT into telemetry.

Simulated boxes (thermal model, loggers, injected faults) publish over the real
broker to the real ingest worker and PostgreSQL; the readings arrive complete
(also the backlog of a box that was offline) and a box whose lid was left open
opens a temperature excursion close to the simulator's ground truth.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from simulator.boxes import BoxUnit
from simulator.scenario import BoxFailureMode
from simulator.scenario_fields import Fields, parse_cold_chain, parse_thermal
from simulator.sensors import MqttPublisher
from simulator.world import Outage
from telemetry.ingest import IngestParams
from telemetry.service import IngestService
from telemetry.store import TelemetryStore

THERMAL = parse_thermal(Fields({}, "thermal", ""))
RULE = parse_cold_chain(Fields({}, "cold_chain", ""))
MINUTES = 45


def wait_for(predicate: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    """Poll until ``predicate`` holds (not a timing assertion: a generous bound)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def rows(url: str, query: str, *params: object) -> list[tuple[object, ...]]:
    """All rows of ``query``."""
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


@pytest.fixture
def prefix(unique_id: str) -> str:
    """A topic prefix of our own on the shared broker."""
    return f"rxd-sim-{unique_id}/v1"


@pytest.fixture
def start() -> datetime:
    """The first reading's time: the run replays the last 45 minutes."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=MINUTES)


@pytest.fixture
def boxes(unique_id: str, prefix: str, start: datetime) -> dict[str, BoxUnit]:
    """A healthy box, one whose lid is left open, one whose uplink drops."""
    rng = random.Random(5)
    ok, hot, gap = (f"sim-{kind}-{unique_id}" for kind in ("ok", "hot", "gap"))
    outage = Outage(0, start + timedelta(minutes=5), start + timedelta(minutes=15))
    fail = (start + timedelta(minutes=2), BoxFailureMode.LID_LEFT_OPEN)
    make = BoxUnit.create
    return {
        "ok": make(ok, THERMAL, RULE, rng=rng, topic_prefix=prefix),
        "hot": make(hot, THERMAL, RULE, rng=rng, failure=fail, topic_prefix=prefix),
        "gap": make(
            gap, THERMAL, RULE, rng=rng, outages=(outage,), topic_prefix=prefix
        ),
    }


@pytest.fixture
def ingest(
    fresh_db: str, mqtt_url: str, unique_id: str, prefix: str, boxes: dict[str, BoxUnit]
) -> Iterator[IngestService]:
    """The real ingest worker on a fresh database, our boxes registered."""
    store = TelemetryStore(fresh_db)
    for box in boxes.values():
        store.register_box(box.box_ref, report_interval_s=30)
    store.close()
    service = IngestService(
        database_url=fresh_db,
        mqtt_url=mqtt_url,
        client_id=f"ingest-{unique_id}",
        params=IngestParams(topic_prefix=prefix),
    )
    with service:
        yield service


def test_simulated_boxes_reach_telemetry(
    ingest: IngestService,
    boxes: dict[str, BoxUnit],
    fresh_db: str,
    mqtt_url: str,
    unique_id: str,
    start: datetime,
) -> None:
    """All readings are stored once (the offline box's backlog too) and the box
    with the lid left open opens one high-temperature excursion."""
    publisher = MqttPublisher(mqtt_url, client_id=f"sim-{unique_id}")
    publisher.start()
    ticks = MINUTES * 2
    try:
        for i in range(ticks):
            at = start + timedelta(seconds=30 * i)
            for box in boxes.values():
                for message in box.tick(at, 30.0, (35.9, 14.5)):
                    publisher.publish(message)
        assert publisher.flush(30), "broker did not acknowledge every message"
    finally:
        publisher.stop()
    refs = [box.box_ref for box in boxes.values()]
    count = "SELECT count(*) FROM telemetry.reading WHERE box_id = ANY(%s)"
    wait_for(lambda: rows(fresh_db, count, refs)[0][0] == ticks * 3, "all readings")
    for box in boxes.values():
        seqs = rows(
            fresh_db,
            "SELECT seq FROM telemetry.reading WHERE box_id = %s ORDER BY seq",
            box.box_ref,
        )
        assert [s for (s,) in seqs] == list(range(1, ticks + 1))
    dead = rows(fresh_db, "SELECT reason FROM telemetry.dead_letter")
    assert dead == []
    truth = boxes["hot"].injected()
    assert truth is not None
    assert truth.true_excursion_at is not None
    high = (
        "SELECT box_id, started_at FROM telemetry.excursion "
        "WHERE kind = 'temperature_high' AND retracted_at IS NULL"
    )
    wait_for(lambda: bool(rows(fresh_db, high)), "an excursion")
    ((box_id, started_at),) = rows(fresh_db, high)
    assert box_id == boxes["hot"].box_ref
    assert isinstance(started_at, datetime)
    assert truth.true_exit_at is not None
    assert abs(started_at - truth.true_exit_at) <= timedelta(minutes=2)
