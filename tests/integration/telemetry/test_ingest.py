"""Ingest end to end over MQTT into PostgreSQL: readings, duplicates, dead letters,
excursions with one notification per episode."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import psycopg
import pytest

from telemetry.codec import CodecLimits
from telemetry.ingest import IngestParams
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

INSTANT = (
    "INSERT INTO telemetry.temperature_profile VALUES "
    "('instant', 'alarm at once', 2, 8, 0.5, 0, 0, 86400)"
)


def _count_is(url: str, expected: int) -> bool:
    return bool(scalar(url, "SELECT count(*) FROM telemetry.reading") == expected)


@pytest.fixture
def prefix(unique_id: str) -> str:
    return f"rxd-test-{unique_id}/v1"


@pytest.fixture
def service(
    fresh_db: str, mqtt_url: str, unique_id: str, prefix: str
) -> Iterator[IngestService]:
    with psycopg.connect(fresh_db) as conn:
        conn.execute(INSTANT)
    store = TelemetryStore(fresh_db)
    for box in ("box-a", "box-b"):
        store.register_box(box)
    store.register_box("box-hot", profile_code="instant")
    store.close()
    notified: list[int] = []
    params = IngestParams(
        topic_prefix=prefix, codec=CodecLimits(max_payload_bytes=2048)
    )
    svc = IngestService(
        database_url=fresh_db,
        mqtt_url=mqtt_url,
        client_id=f"ingest-{unique_id}",
        params=params,
        on_excursions=notified.extend,
    )
    svc.notified = notified  # type: ignore[attr-defined]
    with svc:
        wait_subscribed(svc)
        yield svc
    forget_session(mqtt_url, f"ingest-{unique_id}")


@pytest.fixture
def publisher(mqtt_url: str, unique_id: str, prefix: str) -> Iterator[Publisher]:
    pub = Publisher(mqtt_url, f"pub-{unique_id}", prefix)
    yield pub
    pub.close()


def test_readings_are_stored_once_and_bad_input_is_dead_lettered(
    service: IngestService, publisher: Publisher, fresh_db: str, prefix: str
) -> None:
    """Good readings (also redelivered and buffered) are stored once; each bad
    message becomes one dead letter with its reason, without blocking the good."""
    single = reading(1, 4.0)
    publisher.send("box-a", single)
    publisher.send("box-a", single)  # a redelivery: same seq and ts
    publisher.send("box-b", [reading(i, 5.0) for i in range(10, 15)])  # buffered
    publisher.send("box-a", None, raw=b"{not json")
    publisher.send("box-a", None, raw=b'{"seq": 2, "ts": 1, "temp_c": NaN}')
    publisher.send("box-zzz", reading(3))  # not registered
    publisher.send("box-a", reading(4, 4.0, at=None) | {"ts": "2099-01-01T00:00:00Z"})
    publisher.send("box-a", [reading(100 + i) for i in range(40)])  # > 2048 bytes
    publisher.send("box-a", reading(2, 4.5))  # after the bad ones: still stored
    publisher.wait_acked(9)
    wait_for(lambda: scalar(fresh_db, "SELECT count(*) FROM telemetry.reading") == 7)
    wait_for(
        lambda: scalar(fresh_db, "SELECT count(*) FROM telemetry.dead_letter") == 5
    )
    with psycopg.connect(fresh_db) as conn:
        reasons: dict[str, int] = dict(
            conn.execute(
                "SELECT reason, count(*) FROM telemetry.dead_letter GROUP BY reason"
            ).fetchall()
        )
        distinct = conn.execute(
            "SELECT count(DISTINCT (box_id, seq)) FROM telemetry.reading"
        ).fetchone()
    assert reasons == {
        "malformed_json": 1,
        "non_finite": 1,
        "unknown_box": 1,
        "timestamp_in_future": 1,
        "oversized_payload": 1,
    }
    assert distinct == (7,)
    wait_for(lambda: service.worker.metrics.duplicates == 1, what="duplicate count")


def test_excursion_opens_once_and_resolves(
    service: IngestService, publisher: Publisher, fresh_db: str
) -> None:
    """Readings above 8 °C on an alarm-at-once box open one excursion, notified
    once however many hot readings follow; a cool reading resolves it."""
    for seq in range(5):
        publisher.send("box-hot", reading(seq, 12.0 + seq))
        publisher.wait_acked(seq + 1)
        wait_for(functools.partial(_count_is, fresh_db, seq + 1))
    wait_for(lambda: len(service.notified) == 1, what="one notification")  # type: ignore[attr-defined]
    publisher.send("box-hot", reading(10, 5.0))
    wait_for(
        lambda: scalar(fresh_db, "SELECT status FROM telemetry.excursion") == "resolved"
    )
    with psycopg.connect(fresh_db) as conn:
        rows = conn.execute(
            "SELECT kind, rule, peak_c, ended_at IS NOT NULL FROM telemetry.excursion"
        ).fetchall()
    assert rows == [("temperature_high", "single_event", 16.0, True)]
    assert len(service.notified) == 1  # type: ignore[attr-defined]
