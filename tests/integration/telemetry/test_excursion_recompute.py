"""Late (buffered) readings recompute the affected window against stored episodes:
the same episode is updated, never alerted twice, or retracted if it vanished."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from telemetry.excursions import Sample
from telemetry.model import BoxId, Reading
from telemetry.monitor import ExcursionMonitor
from telemetry.store import TelemetryStore

BOX = BoxId("box-late")
T0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)


@pytest.fixture
def store(fresh_db: str) -> Iterator[TelemetryStore]:
    s = TelemetryStore(fresh_db)
    s.register_box(BOX)  # refrigerated: 30 min single event, 60 min budget
    yield s
    s.close()


def _readings(temps: dict[int, float]) -> list[Reading]:
    now = datetime.now(UTC)
    return [
        Reading(BOX, minute, T0 + timedelta(minutes=minute), t, received_at=now)
        for minute, t in sorted(temps.items())
    ]


def _ingest(
    store: TelemetryStore, monitor: ExcursionMonitor, temps: dict[int, float]
) -> list[int]:
    return monitor.process(store.write_batch(_readings(temps)).inserted)


def _rows(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT id, started_at, alarmed_at, retracted_at IS NOT NULL"
            " FROM telemetry.excursion ORDER BY id"
        ).fetchall()


def test_backfill_that_moves_the_start_updates_the_same_episode(
    store: TelemetryStore, fresh_db: str
) -> None:
    """Live data alarms; the buffered minutes before it move the start earlier
    on the same row and raise no second alert."""
    monitor = ExcursionMonitor(store, store.box_rules().get)
    live = {m: 5.0 for m in range(10)} | {m: 9.0 for m in range(20, 61)}
    assert len(_ingest(store, monitor, live)) == 1
    (first,) = _rows(fresh_db)
    assert first[1] == T0 + timedelta(minutes=20)
    assert _ingest(store, monitor, {m: 9.0 for m in range(10, 20)}) == []
    (row,) = _rows(fresh_db)
    assert row[0] == first[0]
    assert row[1:] == (T0 + timedelta(minutes=10), T0 + timedelta(minutes=40), False)


def test_backfill_that_splits_the_run_retracts_the_episode(
    store: TelemetryStore, fresh_db: str
) -> None:
    """A buffered in-range reading inside a 40-minute run splits it into two
    short runs below delay and budget: the episode is retracted."""
    monitor = ExcursionMonitor(store, store.box_rules().get)
    live = {m: 5.0 for m in range(10)} | {m: 9.0 for m in range(10, 50) if m != 30}
    assert len(_ingest(store, monitor, live)) == 1
    assert _ingest(store, monitor, {30: 5.0}) == []
    ((_, _, _, retracted),) = _rows(fresh_db)
    assert retracted


def test_a_restarted_worker_does_not_alert_again(
    store: TelemetryStore, fresh_db: str
) -> None:
    """A new monitor (worker restart) recomputes from history and finds the
    stored episode instead of creating another."""
    hot = {m: 5.0 for m in range(5)} | {m: 9.0 for m in range(5, 45)}
    assert len(_ingest(store, ExcursionMonitor(store, store.box_rules().get), hot)) == 1
    fresh_monitor = ExcursionMonitor(store, store.box_rules().get)
    assert _ingest(store, fresh_monitor, {m: 9.5 for m in range(45, 50)}) == []
    assert len(_rows(fresh_db)) == 1


def test_lifecycle_open_acknowledged_resolved(store: TelemetryStore) -> None:
    """A person acknowledges an open episode, then resolves it; other steps refuse."""
    from telemetry import excursion_store
    from telemetry.errors import ExcursionNotFound, ExcursionTransitionInvalid

    hot = {m: 5.0 for m in range(5)} | {m: 9.0 for m in range(5, 45)}
    (excursion_id,) = _ingest(
        store, ExcursionMonitor(store, store.box_rules().get), hot
    )
    now = datetime.now(UTC)
    with store.transaction() as conn:
        acked = excursion_store.acknowledge(
            conn, excursion_id, by="pharmacist:7", now=now
        )
        assert acked.status == "acknowledged"
        with pytest.raises(ExcursionTransitionInvalid):
            excursion_store.acknowledge(conn, excursion_id, by="pharmacist:7", now=now)
        assert excursion_store.resolve(conn, excursion_id, now=now).status == "resolved"
        with pytest.raises(ExcursionTransitionInvalid):
            excursion_store.resolve(conn, excursion_id, now=now)
        with pytest.raises(ExcursionNotFound):
            excursion_store.get(conn, 999_999)
        assert excursion_store.unresolved(conn) == []


def test_a_restarted_worker_warms_up_before_the_write_transaction(
    store: TelemetryStore, fresh_db: str
) -> None:
    """Issue 20, item 9: after a restart the first batch re-read each box's
    history inside the write transaction. The worker now primes the trackers of
    new boxes first (a read-only query, nothing held), and the batch's write
    transaction recomputes nothing; the stored episode continues, no new alert."""
    import orjson

    from telemetry.ingest import IngestWorker
    from telemetry.model import InboundMessage
    from telemetry.topics import telemetry_topic

    hot = {m: 5.0 for m in range(5)} | {m: 9.0 for m in range(5, 45)}
    assert len(_ingest(store, ExcursionMonitor(store, store.box_rules().get), hot)) == 1
    worker = IngestWorker(store, queue.Queue(), len)
    reads_in_write: list[bool] = []
    history = store.history

    def spy(since: dict[BoxId, datetime]) -> dict[BoxId, list[Sample]]:
        reads_in_write.append(
            store._conn is not None and store._conn.info.transaction_status != 0
        )
        return history(since)

    store.history = spy  # type: ignore[method-assign]
    payload = orjson.dumps(
        [
            {"seq": m, "ts": (T0 + timedelta(minutes=m)).isoformat(), "temp_c": 9.5}
            for m in range(45, 50)
        ]
    )
    now = datetime.now(UTC)
    message = InboundMessage(telemetry_topic(BOX), payload, now, 1, 1, 0)
    result = worker.process_batch([message])
    assert result is not None
    assert len(result.inserted) == 5
    assert reads_in_write == [False]  # one history read, outside any transaction
    assert worker.monitor.primed == 1
    assert worker.monitor.recomputations == 0
    assert len(_rows(fresh_db)) == 1
