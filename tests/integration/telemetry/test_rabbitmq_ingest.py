"""Ingest on RabbitMQ (TELEMETRY_TRANSPORT=amqp) against a private node started
from ``deploy/rabbitmq`` next to the machine's own: boxes publish MQTT to the
plugin, workers consume the quorum queue over AMQP and ack after the commit."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pika
import psycopg
import pytest

from telemetry.amqp import EXCHANGE, QUEUE, UNROUTABLE_QUEUE
from telemetry.ingest import IngestParams
from telemetry.mqtt import parse_mqtt_url
from telemetry.service import IngestService
from telemetry.store import TelemetryStore
from telemetry.topics import telemetry_topic

from .helpers import WAIT_S, Publisher, reading, scalar, wait_for, wait_subscribed
from .private_rabbitmq import PrivateRabbitMQ, rabbitmq_available

pytestmark = [
    pytest.mark.integration,
    pytest.mark.rabbitmq,
    pytest.mark.slow,
    pytest.mark.skipif(
        not rabbitmq_available() and os.environ.get("CI") != "true",
        reason="no rabbitmq-server (CI installs it)",
    ),
]

PREFIX = "rxdispatch/v1"  # the shipped topology binds this prefix
INGEST = ("rxd-ingest", "ingest-pw")
GATEWAY = ("rxd-gateway", "gateway-pw")
BOXES = {"box-a": "a-pw", "box-b": "b-pw", "rig.2": "rig-pw"}


@pytest.fixture(scope="session")
def rabbit() -> Iterator[PrivateRabbitMQ]:
    """One private node for the session (a start takes 15 s or far more)."""
    node = PrivateRabbitMQ(tls=True).start()
    try:
        node.add_ingest_user(*INGEST)
        node.add_gateway(*GATEWAY)
        for box, password in BOXES.items():
            node.add_box(box, password)
        yield node
    finally:
        node.cleanup()


@pytest.fixture
def node(rabbit: PrivateRabbitMQ) -> PrivateRabbitMQ:
    """The session node with empty ingest queues (no test sees another's)."""
    for queue in (QUEUE, UNROUTABLE_QUEUE):
        rabbit.ctl("purge_queue", queue)
    return rabbit


@pytest.fixture
def db(fresh_db: str) -> str:
    store = TelemetryStore(fresh_db)
    for box in (*BOXES, *(f"load-{i}" for i in range(20))):
        store.register_box(box)
    store.close()
    return fresh_db


def _service(node: PrivateRabbitMQ, db: str, **kwargs: Any) -> IngestService:
    return IngestService(
        database_url=db,
        amqp_url=node.amqp_url(*INGEST),
        params=IngestParams(topic_prefix=PREFIX),
        **kwargs,
    )


def _rows(db: str) -> tuple[int, int]:
    """(rows, distinct (box, seq)) in telemetry.reading."""
    with psycopg.connect(db) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT (box_id, seq)) FROM telemetry.reading"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _publish_load(url: str, messages: int, per_message: int = 1) -> int:
    """``messages`` QoS 1 messages over 20 boxes through the gateway user; returns
    the readings sent once every one was PUBACKed."""
    pub = Publisher(url, "loadgen", PREFIX)
    try:
        for n in range(messages):
            box = f"load-{n % 20}"
            seq = (n // 20) * per_message
            pub.send(box, [reading(seq + k) for k in range(per_message)])
        pub.wait_acked(messages, timeout_s=WAIT_S * 3)
    finally:
        pub.close()
    return messages * per_message


def test_readings_over_mqtt_land_once_dotted_ids_included(
    node: PrivateRabbitMQ, db: str
) -> None:
    """Boxes publish with their own users; a dotted box id survives the plugin's
    '/' -> '.' mapping; a repeat of (box, seq) is stored once; bad JSON is a dead
    letter with its reason and is acked (the queue empties)."""
    with _service(node, db) as svc:
        wait_subscribed(svc)
        for box, password in BOXES.items():
            pub = Publisher(node.mqtt_url(box, password), f"dev-{box}", PREFIX)
            first = reading(1, 4.0)
            pub.send(box, first)
            pub.send(box, first)  # a device resend
            pub.send(box, [reading(2, 4.5), reading(3, 5.0)])
            pub.send(box, None, raw=b"{not json")
            pub.wait_acked(4)
            pub.close()
        wait_for(lambda: _rows(db) == (9, 9), what="9 readings")
        wait_for(
            lambda: scalar(db, "SELECT count(*) FROM telemetry.dead_letter") == 3,
            what="3 dead letters",
        )
        assert (
            scalar(db, "SELECT count(*) FROM telemetry.reading WHERE box_id = 'rig.2'")
            == 3
        )
        reasons = scalar(
            db, "SELECT array_agg(DISTINCT reason) FROM telemetry.dead_letter"
        )
        assert reasons == ["malformed_json"]
        wait_for(lambda: node.queue_depth(QUEUE) == 0, what="everything acked")


def test_a_box_publishing_to_another_box_topic_is_refused(
    node: PrivateRabbitMQ, db: str
) -> None:
    """box-a may not publish as box-b: the broker disconnects it without a PUBACK
    (the device sees the failure and keeps the reading), nothing is stored."""
    addr = parse_mqtt_url(node.mqtt_url("box-a", BOXES["box-a"]))
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="dev-spoof")
    client.username_pw_set(addr.username, addr.password)
    acked = threading.Event()
    dropped = threading.Event()
    client.on_publish = lambda *_: acked.set()
    client.on_disconnect = lambda *_: dropped.set()
    with _service(node, db) as svc:
        wait_subscribed(svc)
        client.connect(addr.host, addr.port)
        client.loop_start()
        try:
            client.publish(
                telemetry_topic("box-b", PREFIX), orjson.dumps(reading(7)), qos=1
            )
            assert dropped.wait(WAIT_S), "the broker kept the spoofing box connected"
            assert not acked.is_set()
        finally:
            client.loop_stop()
        time.sleep(1.0)  # anything wrongly routed would be stored by now
        assert _rows(db) == (0, 0)
        assert "access_refused" in node.log_text() or "not authorized" in (
            node.log_text().lower()
        )


def test_an_unroutable_message_is_dead_lettered_and_counted(
    node: PrivateRabbitMQ, db: str
) -> None:
    """A message the telemetry exchange cannot route goes to its alternate
    exchange's queue; the worker stores it as a dead letter and counts it."""
    with _service(node, db) as svc:
        wait_subscribed(svc)
        conn = pika.BlockingConnection(pika.URLParameters(node.amqp_url(*INGEST)))
        try:
            channel = conn.channel()
            channel.confirm_delivery()
            channel.basic_publish(
                EXCHANGE,
                "rxdispatch.v2.elsewhere.telemetry",
                orjson.dumps(reading(1)),
                pika.BasicProperties(delivery_mode=2),
            )
        finally:
            conn.close()
        wait_for(
            lambda: svc.worker.metrics.dead_letters["unknown_topic"] == 1,
            what="the unroutable message counted",
        )
        row = scalar(
            db, "SELECT topic || ' ' || reason FROM telemetry.dead_letter LIMIT 1"
        )
        assert row == "rxdispatch.v2.elsewhere.telemetry unknown_topic"
        wait_for(lambda: node.queue_depth(UNROUTABLE_QUEUE) == 0, what="it was acked")


def test_two_workers_share_the_queue(node: PrivateRabbitMQ, db: str) -> None:
    """Two consumers of the one queue split the deliveries; each reading once."""
    first = _service(node, db, amqp_prefetch=100)
    second = _service(node, db, amqp_prefetch=100)
    with first, second:
        wait_subscribed(first)
        wait_subscribed(second)
        sent = _publish_load(node.mqtt_url(*GATEWAY), 4000)
        wait_for(lambda: _rows(db) == (sent, sent), WAIT_S * 3, f"{sent} readings")
    assert first.worker.metrics.messages > 0
    assert second.worker.metrics.messages > 0
    assert first.worker.metrics.messages + second.worker.metrics.messages >= sent


def _start_cli_worker(node: PrivateRabbitMQ, db: str, log: Path) -> Any:
    env = dict(
        os.environ,
        DATABASE_URL=db,
        TELEMETRY_TRANSPORT="amqp",
        TELEMETRY_AMQP_URL=node.amqp_url(*INGEST),
    )
    return subprocess.Popen(
        [sys.executable, "-c", "from api.cli.main import main; main()", "ingest"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(
    node: PrivateRabbitMQ, db: str, tmp_path: Path
) -> None:
    """SIGKILL the ``rxdispatch ingest`` process while it drains a backlog: its
    unacked deliveries go back to the queue, the next worker stores them, and the
    (box, seq) key keeps the redelivered part of a committed batch single."""
    sent = _publish_load(node.mqtt_url(*GATEWAY), 20_000, per_message=5)
    log = tmp_path / "worker.log"
    worker = _start_cli_worker(node, db, log)
    try:
        wait_for(lambda: _rows(db)[0] > 0, WAIT_S * 3, "the first commit")
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
        at_kill = _rows(db)[0]
        assert at_kill < sent, "the worker finished before the kill: test is void"
        worker = _start_cli_worker(node, db, log)
        wait_for(lambda: _rows(db)[1] == sent, WAIT_S * 5, f"{sent} readings")
        wait_for(lambda: node.queue_depth(QUEUE) == 0, WAIT_S, "everything acked")
        assert _rows(db) == (sent, sent)
        assert scalar(db, "SELECT count(*) FROM telemetry.dead_letter") == 0
    finally:
        if worker.poll() is None:
            worker.terminate()
            worker.wait(60)


def test_more_than_one_worker_on_mqtt_is_refused_with_the_reason(db: str) -> None:
    env = dict(os.environ, DATABASE_URL=db, TELEMETRY_TRANSPORT="mqtt")
    done = subprocess.run(
        [sys.executable, "-c", "from api.cli.main import main; main()", "ingest",
         "--workers", "2"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "shared subscription loses messages" in " ".join(done.stderr.split())


def test_workers_and_boxes_over_tls(node: PrivateRabbitMQ, db: str) -> None:
    """The shipped TLS listeners: the worker consumes over amqps (CA-verified), a
    box publishes over mqtts, and the reading lands."""
    ca = str(node.tls_files["cafile"])
    svc = IngestService(
        database_url=db,
        amqp_url=node.amqps_url(*INGEST),
        ca_file=ca,
        params=IngestParams(topic_prefix=PREFIX),
    )
    addr = parse_mqtt_url(node.mqtts_url("box-a", BOXES["box-a"]))
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="dev-tls")
    client.username_pw_set(addr.username, addr.password)
    client.tls_set(ca_certs=ca, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    with svc:
        wait_subscribed(svc)
        client.connect(addr.host, addr.port)
        client.loop_start()
        try:
            info = client.publish(
                telemetry_topic("box-a", PREFIX), orjson.dumps(reading(1)), qos=1
            )
            info.wait_for_publish(WAIT_S)
            assert info.is_published()
        finally:
            client.loop_stop()
            client.disconnect()
        wait_for(lambda: _rows(db) == (1, 1), what="the reading sent over TLS")


def test_ingest_workers_two_processes_share_the_queue_and_stop_together(
    node: PrivateRabbitMQ, db: str, tmp_path: Path
) -> None:
    """``rxdispatch ingest --workers 2``: two worker processes consume, a killed
    one is restarted by the supervisor, SIGTERM stops them all."""
    log = tmp_path / "workers.log"
    env = dict(
        os.environ,
        DATABASE_URL=db,
        TELEMETRY_TRANSPORT="amqp",
        TELEMETRY_AMQP_URL=node.amqp_url(*INGEST),
    )
    supervisor = subprocess.Popen(
        [sys.executable, "-c", "from api.cli.main import main; main()", "ingest",
         "--workers", "2"],
        env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip

    def started() -> int:
        return log.read_text(errors="replace").count("ingesting from")

    children = Path(f"/proc/{supervisor.pid}/task/{supervisor.pid}/children")
    try:
        wait_for(lambda: started() >= 2, WAIT_S * 3, "two workers")
        pids = [int(p) for p in children.read_text().split()]
        assert len(pids) == 2
        os.kill(pids[0], signal.SIGKILL)
        wait_for(lambda: started() >= 3, WAIT_S * 3, "the killed worker restarted")
        sent = _publish_load(node.mqtt_url(*GATEWAY), 2000)
        wait_for(lambda: _rows(db) == (sent, sent), WAIT_S * 3, f"{sent} readings")
    finally:
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(120)
    assert supervisor.returncode == 0
    for pid in pids[1:]:
        assert (
            not Path(f"/proc/{pid}").exists()
            or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
        )


def test_a_resend_request_reaches_the_logger_through_amq_topic(
    node: PrivateRabbitMQ, db: str
) -> None:
    """Sequence audit on RabbitMQ: the worker publishes the resend request to
    ``amq.topic``, the plugin delivers it to the simulator's MQTT subscription
    (a gateway answering for every box), the logger republishes the dropped
    reading and the gap closes as ``resent``."""
    from telemetry.seq_auditor import SeqAuditParams

    from .test_seq_audit import BOX, Logger

    store = TelemetryStore(db)
    store.register_box(BOX)
    store.close()
    audit = SeqAuditParams(grace_s=0.5, retry_s=5, alert_after_s=3600, check_s=0.2)
    svc = IngestService(
        database_url=db,
        amqp_url=node.amqp_url(*INGEST),
        params=IngestParams(topic_prefix=PREFIX, seq_audit=audit),
    )
    url = node.mqtt_url(*GATEWAY)
    logger = Logger(url, "rabbit", PREFIX, 50, client_id=f"{GATEWAY[0]}-sim")
    try:
        with svc:
            wait_subscribed(svc)
            logger.take(6, drop={3})
            wait_for(
                lambda: scalar(db, "SELECT outcome FROM telemetry.seq_gap") == "resent",
                what="the gap closed by the resent reading",
            )
            assert _rows(db) == (6, 6)
            assert logger.mqtt.resend_requests >= 1
    finally:
        logger.close()


def test_a_box_may_subscribe_to_its_own_resend_topic_only(
    node: PrivateRabbitMQ,
) -> None:
    """A box user (``add-box.sh``) gets its own resend requests; subscribing to
    another box's is refused (the plugin drops the connection)."""
    addr = parse_mqtt_url(node.mqtt_url("box-a", BOXES["box-a"]))

    def subscribe(topic: str) -> tuple[bool, bool]:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="box-a")
        client.username_pw_set(addr.username, addr.password)
        granted, dropped = threading.Event(), threading.Event()
        client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        client.on_subscribe = lambda _c, _u, _m, codes, _p: (
            granted.set() if not codes[0].is_failure else None
        )
        client.on_disconnect = lambda *_: dropped.set()
        client.connect(addr.host, addr.port)
        client.loop_start()
        try:
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline and not (
                granted.is_set() or dropped.is_set()
            ):
                time.sleep(0.05)
            return granted.is_set(), dropped.is_set()
        finally:
            client.loop_stop()
            client.disconnect()

    assert subscribe(f"{PREFIX}/boxes/box-a/resend") == (True, False)
    granted, dropped = subscribe(f"{PREFIX}/boxes/box-b/resend")
    assert (granted, dropped) == (False, True)
