"""Sequence audit end to end on a real broker (the machine's Mosquitto at
``MQTT_URL`` and the embedded amqtt broker) and PostgreSQL: a simulated logger
whose messages are dropped on purpose gets a resend request, republishes from
its ring buffer and the gap closes with every reading stored once; a range it
no longer holds becomes a confirmed loss; a gap left open raises one alert."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from simulator.sensors import BoxSensor, MqttPublisher, Outgoing
from simulator.wire import telemetry_topic
from telemetry import seq_gap_store
from telemetry.embedded_broker import EmbeddedBroker
from telemetry.excursions import Sample
from telemetry.ingest import IngestParams
from telemetry.model import BoxId
from telemetry.seq_auditor import SeqAuditor, SeqAuditParams
from telemetry.service import IngestService
from telemetry.stats import read_stats
from telemetry.store import TelemetryStore

from .helpers import forget_session, scalar, wait_for, wait_subscribed

BOX = "box-seq"


@pytest.fixture(params=["mosquitto", "embedded"])
def broker_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "mosquitto":
        url = os.environ.get("MQTT_URL")
        if not url:
            pytest.skip("MQTT_URL (the machine's Mosquitto) is not set")
        yield url
        return
    with EmbeddedBroker() as broker:
        yield broker.url


def _service(
    db: str, url: str, unique_id: str, prefix: str, audit: SeqAuditParams
) -> IngestService:
    store = TelemetryStore(db)
    store.register_box(BOX)
    store.close()
    notified: list[int] = []
    svc = IngestService(
        database_url=db,
        mqtt_url=url,
        client_id=f"ingest-{unique_id}",
        params=IngestParams(topic_prefix=prefix, seq_audit=audit),
        on_excursions=notified.extend,
    )
    svc.notified = notified  # type: ignore[attr-defined]
    return svc


class Logger:
    """A simulated sensor on its own MQTT connection, answering resend requests;
    :meth:`take` publishes a reading unless its seq is to be dropped."""

    def __init__(
        self,
        url: str,
        unique_id: str,
        prefix: str,
        ring: int,
        client_id: str | None = None,
    ) -> None:
        self.sensor = BoxSensor(
            BOX, random.Random(7), topic_prefix=prefix, ring_size=ring
        )
        self.mqtt = MqttPublisher(url, client_id=client_id or f"sim-{unique_id}")
        self.mqtt.answer_resends({BOX: self.sensor}.get, prefix)
        self.mqtt.start()
        wait_for(self.mqtt.answering.is_set, what="the resend subscription")
        self.start = datetime.now(UTC) - timedelta(minutes=30)

    def take(self, count: int, drop: set[int]) -> None:
        for _ in range(count):
            seq = self.sensor.next_seq
            at = self.start + timedelta(seconds=30 * seq)
            for message in self.sensor.read(at, 5.0, door_open=False, position=None):
                if seq not in drop:
                    self.mqtt.publish(message)

    def close(self) -> None:
        self.mqtt.flush(30)
        self.mqtt.stop()


@pytest.fixture
def prefix(unique_id: str) -> str:
    return f"rxd-seq-{unique_id}/v1"


def _gaps(db: str) -> list[tuple[int, int, str | None, int, int]]:
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT from_seq, to_seq, outcome, missing, requests"
            " FROM telemetry.seq_gap ORDER BY from_seq"
        ).fetchall()
    return [(int(a), int(b), c, int(d), int(e)) for a, b, c, d, e in rows]


def test_a_dropped_range_is_requested_resent_and_stored_once(
    fresh_db: str, broker_url: str, unique_id: str, prefix: str
) -> None:
    audit = SeqAuditParams(grace_s=0.5, retry_s=5, alert_after_s=3600, check_s=0.2)
    svc = _service(fresh_db, broker_url, unique_id, prefix, audit)
    logger = Logger(broker_url, unique_id, prefix, ring=100)
    try:
        with svc:
            wait_subscribed(svc)
            logger.take(12, drop={4, 5, 6, 9})
            wait_for(
                lambda: [g[2] for g in _gaps(fresh_db)] == ["resent", "resent"],
                what="both gaps closed by the resent readings",
            )
            assert logger.mqtt.resend_requests >= 2
            assert logger.sensor.resent >= 4
            stored = scalar(fresh_db, "SELECT count(*) FROM telemetry.reading")
            distinct = scalar(
                fresh_db, "SELECT count(DISTINCT seq) FROM telemetry.reading"
            )
            assert (stored, distinct) == (12, 12)
            assert [(a, b, m) for a, b, _, m, _ in _gaps(fresh_db)] == [
                (4, 6, 0),
                (9, 9, 0),
            ]
            stats = read_stats(svc.store)
            assert stats.seq_gaps_open == 0
            assert stats.seq_gaps_closed_by_outcome == {"resent": 2}
            assert svc.worker.seq_audit.metrics.gaps_closed >= 2
    finally:
        logger.close()
        forget_session(broker_url, f"ingest-{unique_id}")


def test_a_range_the_logger_no_longer_holds_is_a_confirmed_loss(
    fresh_db: str, broker_url: str, unique_id: str, prefix: str
) -> None:
    audit = SeqAuditParams(grace_s=0.5, retry_s=5, alert_after_s=3600, check_s=0.2)
    svc = _service(fresh_db, broker_url, unique_id, prefix, audit)
    logger = Logger(broker_url, unique_id, prefix, ring=3)
    try:
        with svc:
            wait_subscribed(svc)
            logger.take(10, drop={2, 3})  # the ring keeps 8..10 only
            wait_for(
                lambda: [g[2] for g in _gaps(fresh_db)] == ["lost"],
                what="the gap closed as a confirmed loss",
            )
            assert _gaps(fresh_db) == [(2, 3, "lost", 2, 1)]
            assert logger.sensor.not_held == 2
            stats = read_stats(svc.store)
            assert stats.seq_gaps_closed_by_outcome == {"lost": 1}
            assert stats.seq_readings_lost == 2
            assert svc.worker.seq_audit.metrics.readings_lost == 2
            assert scalar(fresh_db, "SELECT count(*) FROM telemetry.reading") == 8
            # a reversed range is bad input: dead-lettered with its reason, and
            # the recorded loss stays as it was
            topic = telemetry_topic(BOX, prefix)
            bad = b'{"not_held": {"from_seq": 9, "to_seq": 8}}'
            logger.mqtt.publish(Outgoing(topic, bad, 0))
            wait_for(
                lambda: (
                    scalar(fresh_db, "SELECT reason FROM telemetry.dead_letter")
                    == "implausible_value"
                ),
                what="the bad answer dead-lettered",
            )
            assert _gaps(fresh_db) == [(2, 3, "lost", 2, 1)]
    finally:
        logger.close()
        forget_session(broker_url, f"ingest-{unique_id}")


def test_a_gap_left_open_raises_one_alert_until_it_is_filled(
    fresh_db: str, broker_url: str, unique_id: str, prefix: str
) -> None:
    # no resend requests: the logger cannot close the gap, the alert must show it
    audit = SeqAuditParams(max_requests=0, alert_after_s=0.5, check_s=0.2)
    svc = _service(fresh_db, broker_url, unique_id, prefix, audit)
    logger = Logger(broker_url, unique_id, prefix, ring=100)
    alerts = (
        "SELECT count(*) FROM telemetry.excursion WHERE kind = 'seq_gap'"
        " AND box_id = %s AND status <> 'resolved'"
    )
    try:
        with svc:
            wait_subscribed(svc)
            logger.take(6, drop={3})
            wait_for(
                lambda: scalar(fresh_db, alerts, [BOX]) == 1, what="a seq_gap alert"
            )
            first = list(svc.notified)  # type: ignore[attr-defined]
            assert len(first) == 1
            # a later check does not raise a second one; a reboot opens no gap
            logger.sensor.next_seq = 1
            logger.start += timedelta(minutes=5)
            logger.take(2, drop=set())
            wait_for(
                lambda: scalar(fresh_db, "SELECT count(*) FROM telemetry.reading") == 7,
                what="the readings after the reboot",
            )
            svc.worker.seq_audit.check()
            assert scalar(fresh_db, alerts, [BOX]) == 1
            assert [g[:3] for g in _gaps(fresh_db)] == [(3, 3, None)]
            # the missing reading arrives late (the logger's own retry): closed
            for message in logger.sensor.resend(3, 3):
                logger.mqtt.publish(message)
            wait_for(
                lambda: scalar(fresh_db, alerts, [BOX]) == 0,
                what="the alert resolved once the gap was filled",
            )
            assert [g[:3] for g in _gaps(fresh_db)] == [(3, 3, "filled")]
            assert svc.notified == first  # type: ignore[attr-defined]
    finally:
        logger.close()
        forget_session(broker_url, f"ingest-{unique_id}")


def test_counts_read_back_what_the_gap_table_holds(fresh_db: str) -> None:
    with psycopg.connect(fresh_db) as conn:
        conn.execute(
            "INSERT INTO telemetry.seq_gap (box_id, from_seq, to_seq, after_at,"
            " before_at, opened_at, missing, closed_at, outcome) VALUES"
            " ('b', 1, 4, now(), now(), now(), 3, now(), 'lost'),"
            " ('b', 8, 8, now(), now(), now(), 0, now(), 'resent'),"
            " ('b', 10, 11, now(), now(), now(), 2, NULL, NULL)"
        )
        counts = seq_gap_store.counts(conn)
    assert counts == seq_gap_store.GapCounts(1, {"lost": 1, "resent": 1}, 3)


def test_a_restarted_worker_resumes_the_cursor_from_the_database(
    fresh_db: str,
) -> None:
    """The cursor is stored with the readings: a new worker (empty cache) that
    sees seq 6 after seq 3 opens the gap 4..5, and seqs restarting at a later
    time (a reboot) open none."""
    t0 = datetime.now(UTC) - timedelta(hours=1)

    def batch(*seqs: int, offset_s: int = 0) -> list[tuple[BoxId, Sample]]:
        return [
            (BoxId(BOX), Sample(t0 + timedelta(seconds=30 * s + offset_s), s, 5.0))
            for s in seqs
        ]

    store = TelemetryStore(fresh_db)
    try:
        SeqAuditor(store).process(batch(1, 2, 3))
        assert _gaps(fresh_db) == []
        restarted = SeqAuditor(store)
        restarted.process(batch(6))
        assert _gaps(fresh_db) == [(4, 5, None, 2, 0)]
        SeqAuditor(store).process(batch(1, 2, offset_s=3600))  # rebooted
        assert _gaps(fresh_db) == [(4, 5, None, 2, 0)]
        assert restarted.metrics.gaps_opened == 1
    finally:
        store.close()
