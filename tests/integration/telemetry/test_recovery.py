"""Nothing is lost and nothing duplicated when PostgreSQL goes away or the worker
is stopped before it acknowledged (private mosquitto with the shipped config)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from telemetry.ingest import IngestParams
from telemetry.service import IngestService
from telemetry.store import TelemetryStore

from .helpers import Publisher, TcpProxy, reading, scalar, wait_for, wait_subscribed
from .private_mosquitto import PrivateMosquitto, mosquitto_binary

pytestmark = [
    pytest.mark.mosquitto,
    pytest.mark.skipif(mosquitto_binary() is None, reason="no mosquitto binary"),
]

USERS = {"rxdispatch-ingest": "ingest-pw", "rxdispatch-gateway": "gw-pw"}
BOXES = [f"box-r{i}" for i in range(5)]
PARAMS = IngestParams(retry_initial_s=0.05, retry_max_s=0.5)
COUNT = "SELECT count(*) FROM telemetry.reading"
DISTINCT = "SELECT count(DISTINCT (box_id, seq)) FROM telemetry.reading"


@pytest.fixture(scope="module")
def broker() -> Iterator[PrivateMosquitto]:
    with PrivateMosquitto(USERS) as mosq:
        yield mosq


@pytest.fixture
def db(fresh_db: str) -> str:
    store = TelemetryStore(fresh_db)
    for box in BOXES:
        store.register_box(box)
    store.close()
    return fresh_db


def _publish(broker: PrivateMosquitto, client_id: str, seqs: range) -> None:
    pub = Publisher(
        broker.url("rxdispatch-gateway", "gw-pw"), client_id, "rxdispatch/v1"
    )
    try:
        for seq in seqs:
            for box in BOXES:
                pub.send(box, reading(seq, 5.0))
        pub.wait_acked(len(seqs) * len(BOXES))
    finally:
        pub.close()


def test_database_outage_keeps_the_batch_and_loses_nothing(
    broker: PrivateMosquitto, db: str, unique_id: str
) -> None:
    """With PostgreSQL unreachable the worker retries without acking; when it
    returns every reading is stored exactly once."""
    proxy = TcpProxy(db)
    proxy.up()
    service = IngestService(
        database_url=proxy.url,
        mqtt_url=broker.url("rxdispatch-ingest", "ingest-pw"),
        client_id=f"ingest-{unique_id}",
        params=PARAMS,
    )
    with service:
        wait_subscribed(service)
        _publish(broker, f"pub1-{unique_id}", range(10))
        wait_for(lambda: scalar(db, COUNT) == 50)
        proxy.down()
        _publish(broker, f"pub2-{unique_id}", range(10, 30))
        wait_for(lambda: service.worker.metrics.store_retries >= 3, what="retries")
        proxy.up()
        wait_for(lambda: scalar(db, COUNT) == 150)
    proxy.down()
    assert scalar(db, DISTINCT) == 150


def test_worker_stopped_before_ack_gets_its_messages_redelivered(
    broker: PrivateMosquitto, db: str, unique_id: str
) -> None:
    """A worker that never committed (database down) and is stopped leaves its
    messages unacknowledged; the next worker with the same client id gets them."""
    proxy = TcpProxy(db)  # never brought up: the first worker cannot commit
    url = broker.url("rxdispatch-ingest", "ingest-pw")
    client_id = f"ingest-{unique_id}"
    first = IngestService(
        database_url=proxy.url, mqtt_url=url, client_id=client_id, params=PARAMS
    ).start()
    try:
        wait_subscribed(first)
        _publish(broker, f"pub-{unique_id}", range(20))
        wait_for(lambda: first.worker.metrics.store_retries >= 2, what="retries")
    finally:
        first.stop()
    assert scalar(db, COUNT) == 0
    with IngestService(
        database_url=db, mqtt_url=url, client_id=client_id, params=PARAMS
    ):
        wait_for(lambda: scalar(db, COUNT) == 100)
    assert scalar(db, DISTINCT) == 100
