"""TelemetryStore against real PostgreSQL: idempotent batches, dead letters, queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from telemetry.excursions import TemperatureProfile, temperature_record
from telemetry.model import BoxId, DeadLetter, Reading
from telemetry.store import TelemetryStore

BOX = BoxId("box-store-1")
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


def _readings(n: int, start_seq: int = 0, temp_c: float = 5.0) -> list[Reading]:
    return [
        Reading(
            BOX,
            start_seq + i,
            T0 + timedelta(minutes=start_seq + i),
            temp_c + (i % 3),
            received_at=datetime.now(UTC),
        )
        for i in range(n)
    ]


@pytest.fixture
def store(fresh_db: str):
    s = TelemetryStore(fresh_db)
    s.register_box(BOX)
    yield s
    s.close()


def test_redelivered_batch_creates_no_duplicates(
    store: TelemetryStore, fresh_db: str
) -> None:
    """The same readings written twice are stored once and counted as duplicates."""
    first = store.write_batch(_readings(50))
    again = store.write_batch(_readings(50) + _readings(10, start_seq=50))
    assert (len(first.inserted), first.duplicates) == (50, 0)
    assert (len(again.inserted), again.duplicates) == (10, 50)
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT count(*) FROM telemetry.reading").fetchone() == (
            60,
        )


def test_dead_letters_are_stored_in_the_same_transaction(
    store: TelemetryStore, fresh_db: str
) -> None:
    """A dead letter keeps topic, truncated payload, original size and reason."""
    now = datetime.now(UTC)
    letter = DeadLetter(
        "t/boxes/x/telemetry", b"x" * 10, 5000, "oversized_payload", "", now
    )
    store.write_batch(_readings(1), [letter])
    with psycopg.connect(fresh_db) as conn:
        row = conn.execute(
            "SELECT topic, length(payload), payload_bytes, reason"
            " FROM telemetry.dead_letter"
        ).fetchone()
    assert row == ("t/boxes/x/telemetry", 10, 5000, "oversized_payload")


def test_readings_land_in_daily_partitions(
    store: TelemetryStore, fresh_db: str
) -> None:
    """A reading 20 days old goes to its own day's partition, created on demand."""
    old = datetime.now(UTC) - timedelta(days=20)
    store.write_batch([Reading(BOX, 999, old, 4.0, received_at=datetime.now(UTC))])
    with psycopg.connect(fresh_db) as conn:
        part = conn.execute(
            "SELECT tableoid::regclass::text FROM telemetry.reading WHERE seq = 999"
        ).fetchone()
    assert part == (f"telemetry.reading_{old:%Y%m%d}",)


def test_range_downsampled_latest_and_delivery_record(store: TelemetryStore) -> None:
    """Raw and bucketed series, the latest reading and a delivery's record agree."""
    store.write_batch(_readings(30))
    raw = store.readings(BOX, T0, T0 + timedelta(minutes=10))
    assert [r.seq for r in raw] == list(range(10))
    buckets = store.downsampled(BOX, T0, T0 + timedelta(minutes=30), bucket_s=600)
    assert sum(b.readings for b in buckets) == 30
    assert all(b.min_c <= b.mean_c <= b.max_c for b in buckets)
    (latest,) = store.latest_per_box()
    assert (latest.box_id, latest.seq) == (BOX, 29)
    store.write_batch(
        [Reading(BOX, 5, T0 + timedelta(minutes=5), 5.0, received_at=datetime.now(UTC))]
    )
    assert store.latest_per_box()[0].seq == 29  # an old reading does not move "latest"
    profile = TemperatureProfile("refrigerated", 2, 8)
    record = temperature_record(
        store.samples(BOX, T0, T0 + timedelta(minutes=29)), profile
    )
    assert (record.readings, record.min_c, record.max_c) == (30, 5.0, 7.0)
