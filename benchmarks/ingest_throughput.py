"""Ingest throughput and latency: the project's pipeline vs a naive baseline.

``python -m benchmarks.ingest_throughput [--quick] [--json FILE]``

Pipelines, measured in the same run against the same broker and database:

- ``batched`` (ours): ``telemetry.service.IngestService`` - manual acks after
  commit, batches of <= 1000 messages / 20 ms, COPY into a staging table, then
  ``INSERT ... ON CONFLICT DO NOTHING`` and excursion detection in the same
  transaction; alerts handed to the notifier right after the commit.
- ``naive``: paho auto-ack, one autocommitted ``INSERT ... ON CONFLICT DO
  NOTHING`` per reading, then the same excursion detection for that reading.
- ``naive-insert``: the same without detection (the issue's reference baseline).

Scenarios: paced publishing at 1,000, 2,000 and 5,000 readings/s with 1 % of the
messages from boxes that alarm at once (publish->commit and publish->alert
latency), 15,000 readings/s as single-reading and as 5-reading messages
(sustained, ``--sustained-rates`` for more), and a drain of a backlog queued
while the worker was offline (capacity). Loss and duplicates are audited in the
database per (box, seq) against what the broker acknowledged to the publisher.
The load generator is ``benchmarks/_mqtt_load.py`` (a paho publisher would take
the core the worker needs); the 1-minute load average before/after each row is
recorded.

Broker: a private mosquitto started from ``deploy/mosquitto`` on a free port
(the machine's Debian default config drops queued messages beyond 1000);
``--broker-url`` (or ``--use-env-broker`` for ``MQTT_URL``) uses another one.
Database: ``DATABASE_URL`` (or an embedded PostgreSQL); a throwaway database is
created on it and dropped at the end. Publishers run in their own process.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import psycopg

from benchmarks._mqtt_load import RawPublisher
from benchmarks._report import print_table, write_json
from dispatch.adapters.postgres.database import create_database, drop_database, migrate
from dispatch.adapters.postgres.embedded import resolve_database_url
from telemetry.codec import decode_payload
from telemetry.errors import PayloadRejected
from telemetry.excursions import Sample
from telemetry.ingest import IngestParams
from telemetry.monitor import ExcursionMonitor
from telemetry.mqtt import parse_mqtt_url
from telemetry.service import IngestService
from telemetry.store import TelemetryStore, WriteResult
from telemetry.topics import box_id_from_topic

PREFIX = "rxdispatch/v1"
INGEST_USER, INGEST_PW = "rxdispatch-ingest", "bench-ingest-pw"
GATEWAY_USER, GATEWAY_PW = "rxdispatch-gateway", "bench-gateway-pw"
BOXES = 2000
HOT_BOXES = 20
BENCH_PROFILE = (
    "INSERT INTO telemetry.temperature_profile VALUES "
    "('bench-instant', 'alarm at once (benchmark)', 2, 8, 0.5, 0, 0, 86400)"
)


# -- publisher (own process) ---------------------------------------------------
@dataclass
class PublishPlan:
    """What one publisher process sends."""

    url: str
    client_id: str
    rate_readings_s: float  # 0: as fast as possible
    duration_s: float
    readings_per_message: int = 1
    hot_fraction: float = 0.0
    seq_offset: int = 0
    max_readings: int = 0  # 0: no limit
    raw: bool = True  # our minimal publisher; False: paho (reconnects, re-sends)


class _PahoSender:
    """paho publisher (reconnects and re-sends: used by the fault runs)."""

    def __init__(self, url: str, client_id: str) -> None:
        addr = parse_mqtt_url(url)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        client.username_pw_set(addr.username, addr.password)
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        self.acked = 0
        lock = threading.Lock()

        def on_publish(*_: Any) -> None:
            with lock:
                self.acked += 1

        client.on_publish = on_publish
        client.connect(addr.host, addr.port)
        client.loop_start()
        self.client = client

    def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        for topic, payload in messages:
            self.client.publish(topic, payload, qos=1)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _publish(plan: PublishPlan, out: Any) -> None:
    """Paced QoS 1 publishing; reports (messages, readings acked, first/last time)."""
    sender: Any = (
        RawPublisher(plan.url, plan.client_id)
        if plan.raw
        else _PahoSender(plan.url, plan.client_id)
    )
    k = plan.readings_per_message
    seqs = [plan.seq_offset] * BOXES
    hot_seqs = [plan.seq_offset] * HOT_BOXES
    hot_state = [False] * HOT_BOXES
    hot_every = int(1 / plan.hot_fraction) if plan.hot_fraction else 0
    sent_messages = sent_readings = 0
    start = time.time()
    tick_s = 0.005
    msg_rate = plan.rate_readings_s / k if plan.rate_readings_s else 0
    box = 0
    dumps = orjson.dumps
    while True:
        now = time.time()
        elapsed = now - start
        if elapsed >= plan.duration_s or (
            plan.max_readings and sent_readings >= plan.max_readings
        ):
            break
        due = int(msg_rate * elapsed) + 1 if msg_rate else sent_messages + 500
        # paho keys queued publishes by packet id (16 bit): more than ~65k
        # outstanding would collide, so never run that far ahead of the PUBACKs
        while sent_messages - sender.acked > 20_000:
            time.sleep(0.005)
        due = min(due, sender.acked + 20_000)
        batch: list[tuple[str, bytes]] = []
        ts_ms = int(time.time() * 1000)
        while sent_messages < due and not (
            plan.max_readings and sent_readings >= plan.max_readings
        ):
            if hot_every and sent_messages % hot_every == 0:
                h = (sent_messages // hot_every) % HOT_BOXES
                hot_state[h] = not hot_state[h]
                temp = 12.0 if hot_state[h] else 5.0
                items = [{"seq": hot_seqs[h], "ts": ts_ms, "temp_c": temp}]
                hot_seqs[h] += 1
                topic = f"{PREFIX}/boxes/hot-{h:03d}/telemetry"
            else:
                box = (box + 1) % BOXES
                items = []
                for _ in range(k):
                    items.append({"seq": seqs[box], "ts": ts_ms, "temp_c": 5.0})
                    seqs[box] += 1
                topic = f"{PREFIX}/boxes/box-{box:05d}/telemetry"
            batch.append((topic, dumps(items if k > 1 else items[0])))
            sent_messages += 1
            sent_readings += len(items)
        sender.publish(batch)
        if msg_rate:
            time.sleep(max(0.0, tick_s - (time.time() - now)))
    end = time.time()
    deadline = time.time() + 120
    while sender.acked < sent_messages and time.time() < deadline:
        time.sleep(0.05)
    acked = sender.acked
    sender.close()
    out.put(
        {
            "messages": sent_messages,
            "readings": sent_readings,
            "acked_messages": acked,
            "start": start,
            "end": end,
        }
    )


def run_publisher(plan: PublishPlan) -> tuple[Any, Any]:
    """Start ``plan`` in a spawned process; (process, result queue)."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_publish, args=(plan, out), daemon=True)
    proc.start()
    return proc, out


# -- database --------------------------------------------------------------------
def prepare_database(admin_url: str) -> str:
    """A fresh migrated database with the benchmark boxes registered; its URL."""
    name = f"rxd_bench_{uuid.uuid4().hex[:10]}"
    url = create_database(admin_url, name)
    migrate(url)
    with psycopg.connect(url) as conn:
        conn.execute(BENCH_PROFILE)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO telemetry.box (box_id, report_interval_s)"
                " VALUES (%s, 3600)",
                [(f"box-{i:05d}",) for i in range(BOXES)],
            )
            cur.executemany(
                "INSERT INTO telemetry.box (box_id, profile_code, report_interval_s)"
                " VALUES (%s, 'bench-instant', 3600)",
                [(f"hot-{i:03d}",) for i in range(HOT_BOXES)],
            )
    return url


def reset(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            "TRUNCATE telemetry.reading, telemetry.box_latest, telemetry.excursion,"
            " telemetry.dead_letter"
        )


def audit(url: str) -> dict[str, int]:
    """Rows, distinct (box, seq) and excursions stored."""
    with psycopg.connect(url) as conn:
        rows, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT (box_id, seq)) FROM telemetry.reading"
        ).fetchone()  # type: ignore[misc]
        alerts = conn.execute("SELECT count(*) FROM telemetry.excursion").fetchone()
    return {"rows": rows, "distinct": distinct, "alerts": alerts[0] if alerts else 0}


def alert_latencies_ms(
    url: str, alerts: Sequence[tuple[int, float]], after_epoch_s: float = 0.0
) -> list[float]:
    """Publish (= the alarming reading's device time, the episode's start) ->
    alert committed and handed to the notifier, for episodes after a warm-up."""
    if not alerts:
        return []
    notified = dict(alerts)
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT id, extract(epoch FROM started_at) FROM telemetry.excursion"
            " WHERE id = ANY(%s) AND started_at >= to_timestamp(%s)",
            (list(notified), after_epoch_s),
        ).fetchall()
    return [(notified[int(i)] - float(at)) * 1000 for i, at in rows]


def stored_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM telemetry.reading").fetchone()
    return int(row[0]) if row else 0


# -- workers -----------------------------------------------------------------------
class Latencies:
    """Commit latencies (ms) per reading, alert times, and the commit time span."""

    def __init__(self) -> None:
        self.ms: list[float] = []
        self.recorded: list[float] = []
        self.alerts: list[tuple[int, float]] = []  # (excursion id, notified at)
        self.first_commit = self.last_commit = 0.0
        self.lock = threading.Lock()

    def add(self, recorded_epoch_s: Sequence[float], committed: float) -> None:
        with self.lock:
            self.ms.extend((committed - r) * 1000 for r in recorded_epoch_s)
            self.recorded.extend(recorded_epoch_s)
            self.first_commit = self.first_commit or committed
            self.last_commit = committed

    def alerted(self, ids: Sequence[int]) -> None:
        """Excursions committed and handed to the notifier (now)."""
        now = time.time()
        with self.lock:
            self.alerts.extend((i, now) for i in ids)

    def steady_ms(self, after_epoch_s: float) -> list[float]:
        """Latencies of readings published after ``after_epoch_s`` (warm-up cut)."""
        return [
            ms
            for ms, r in zip(self.ms, self.recorded, strict=True)
            if r >= after_epoch_s
        ]


class BatchedWorker:
    """Our pipeline in this process (paho thread, decode thread, commit thread)."""

    name = "batched"

    window_s = 0.02

    def __init__(self, db_url: str, mqtt_url: str, client_id: str) -> None:
        self.lat = Latencies()

        def on_commit(_m: Any, result: WriteResult, committed: float) -> None:
            self.lat.add(
                [s.recorded_at.timestamp() for _, s in result.inserted], committed
            )

        self.service = IngestService(
            database_url=db_url,
            mqtt_url=mqtt_url,
            client_id=client_id,
            params=IngestParams(
                topic_prefix=PREFIX, silence_check_s=3600, batch_window_s=self.window_s
            ),
            on_commit=on_commit,
            on_excursions=self.lat.alerted,
        )

    def start(self) -> None:
        self.service.start()

    def stop(self) -> None:
        self.service.stop()


class NaiveWorker:
    """Baseline: paho auto-ack, one autocommitted INSERT per reading, then the same
    excursion detection for that reading (its own transaction)."""

    name = "naive"
    detect = True
    SQL = (
        "INSERT INTO telemetry.reading (box_id, seq, recorded_at, received_at, temp_c,"
        " battery_pct, door_open, lat, lon) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)"
        " ON CONFLICT DO NOTHING"
    )

    def __init__(self, db_url: str, mqtt_url: str, client_id: str) -> None:
        self.lat = Latencies()
        self.conn = psycopg.connect(db_url, autocommit=True)
        self.store = TelemetryStore(db_url)
        rules = self.store.box_rules()
        self.monitor = ExcursionMonitor(self.store, rules.get)
        addr = parse_mqtt_url(mqtt_url)
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False
        )
        self.client.username_pw_set(addr.username, addr.password)
        self.client.on_connect = lambda c, *_: c.subscribe(
            f"{PREFIX}/boxes/+/telemetry", 1
        )
        self.client.on_message = self._on_message
        self.addr = addr

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        received = datetime.now(UTC)
        try:
            box = box_id_from_topic(msg.topic, PREFIX)
            readings = decode_payload(
                bytes(msg.payload), box_id=box, received_at=received
            )
        except PayloadRejected:
            return
        for r in readings:
            cur = self.conn.execute(
                self.SQL,
                (
                    r.box_id,
                    r.seq,
                    r.recorded_at,
                    received,
                    r.temp_c,
                    r.battery_pct,
                    r.door_open,
                    r.lat,
                    r.lon,
                ),
            )
            self.lat.add([r.recorded_at.timestamp()], time.time())
            if self.detect and cur.rowcount:
                sample = Sample(
                    r.recorded_at, r.seq, r.temp_c, r.battery_pct, r.door_open
                )
                created = self.monitor.process([(r.box_id, sample)])
                if created:
                    self.lat.alerted(created)

    def start(self) -> None:
        self.client.connect(self.addr.host, self.addr.port)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
        self.conn.close()
        self.store.close()


class NaiveInsertWorker(NaiveWorker):
    """The issue's baseline: one autocommitted INSERT per reading, no detection."""

    name = "naive-insert"
    detect = False


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- scenarios ----------------------------------------------------------------------
@dataclass
class Result:
    """One row of the report."""

    pipeline: str
    scenario: str
    target_readings_s: float | None
    readings_per_message: int
    published: int
    readings_per_s: float
    lost: int | None  # None: not drained before the timeout (backlog, not loss)
    duplicates: int
    p50_publish_to_commit_ms: float | None
    p99_publish_to_commit_ms: float | None
    p99_publish_to_alert_ms: float | None
    alerts: int
    drain_s: float
    extra: dict[str, Any] = field(default_factory=dict)


def forget_session(mqtt_url: str, client_id: str) -> None:
    """Drop a persistent session (a clean-session connect with its client id), so
    later runs' messages are not queued for a worker that is gone."""
    addr = parse_mqtt_url(mqtt_url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    client.username_pw_set(addr.username, addr.password)
    client.connect(addr.host, addr.port)
    client.loop_start()
    time.sleep(0.3)
    client.loop_stop()
    client.disconnect()


def _wait_stored(url: str, expected: int, timeout_s: float) -> bool:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if stored_count(url) >= expected:
            return True
        time.sleep(0.2)
    return False


def run_paced(
    worker_cls: Any,
    db_url: str,
    mqtt_url: str,
    pub_url: str,
    *,
    scenario: str,
    rate: float,
    duration_s: float,
    k: int = 1,
    hot: float = 0.0,
    drain_timeout_s: float = 600,
) -> Result:
    """Publish at ``rate`` readings/s for ``duration_s`` while the worker runs."""
    reset(db_url)
    load = os.getloadavg()[0]
    uid = uuid.uuid4().hex[:8]
    client_id = f"bench-{worker_cls.name}-{uid}"
    worker = worker_cls(db_url, mqtt_url, client_id)
    worker.start()
    time.sleep(1.0)  # subscribed
    proc, out = run_publisher(
        PublishPlan(pub_url, f"pub-{uid}", rate, duration_s, k, hot)
    )
    pub = out.get(timeout=duration_s + 180)
    proc.join(10)
    drained = _wait_stored(db_url, pub["readings"], drain_timeout_s)
    drain_s = max(0.0, time.time() - pub["end"]) if drained else float("nan")
    time.sleep(0.5)
    worker.stop()
    forget_session(mqtt_url, client_id)
    result = _result(worker, scenario, rate, k, pub, db_url, drain_s, load)
    if not drained:
        result.lost = None
    return result


def run_drain(
    worker_cls: Any,
    db_url: str,
    mqtt_url: str,
    pub_url: str,
    *,
    backlog: int,
    k: int = 1,
    drain_timeout_s: float = 300,
) -> Result:
    """Queue ``backlog`` readings while the worker is offline, then drain them."""
    reset(db_url)
    load = os.getloadavg()[0]
    uid = uuid.uuid4().hex[:8]
    client_id = f"bench-{worker_cls.name}-drain-{uid}"
    worker = worker_cls(db_url, mqtt_url, client_id)
    worker.start()  # creates the persistent session and its subscription
    time.sleep(1.0)
    worker.stop()
    proc, out = run_publisher(
        PublishPlan(pub_url, f"pub-{uid}", 0, 600, k, max_readings=backlog)
    )
    pub = out.get(timeout=600)
    proc.join(10)
    worker = worker_cls(db_url, mqtt_url, client_id)
    started = time.time()
    worker.start()
    drained = _wait_stored(db_url, pub["readings"], drain_timeout_s)
    took_s = time.time() - started
    time.sleep(0.5)
    worker.stop()
    forget_session(mqtt_url, client_id)
    result = _result(
        worker,
        "drain",
        None,
        k,
        pub,
        db_url,
        took_s if drained else float("nan"),
        load,
    )
    result.readings_per_s = (
        pub["readings"] / took_s if drained else stored_count(db_url) / took_s
    )
    return result


def _result(
    worker: Any,
    scenario: str,
    rate: float | None,
    k: int,
    pub: dict[str, Any],
    db_url: str,
    drain_s: float,
    load_before: float,
) -> Result:
    counts = audit(db_url)
    published = pub["readings"]
    span = max(worker.lat.last_commit - pub["start"], 1e-9)
    alerts = alert_latencies_ms(db_url, worker.lat.alerts, pub["start"] + 2)
    steady = worker.lat.steady_ms(pub["start"] + 2)
    return Result(
        worker.name,
        scenario,
        rate,
        k,
        published,
        round(counts["distinct"] / span, 1),
        published - counts["distinct"],
        counts["rows"] - counts["distinct"],
        _pct(worker.lat.ms, 0.50),
        _pct(worker.lat.ms, 0.99),
        _pct(alerts, 0.99),
        counts["alerts"],
        round(drain_s, 2),
        {
            "acked_messages": pub["acked_messages"],
            "messages": pub["messages"],
            "publish_s": round(pub["end"] - pub["start"], 2),
            "p50_publish_to_alert_ms": _pct(alerts, 0.50),
            "steady_p50_publish_to_commit_ms": _pct(steady, 0.50),
            "steady_p99_publish_to_commit_ms": _pct(steady, 0.99),
            "loadavg_1m_before": round(load_before, 2),
            "loadavg_1m_after": round(os.getloadavg()[0], 2),
        },
    )


# -- main ---------------------------------------------------------------------------
def _broker(args: argparse.Namespace) -> tuple[Any, str, str, str]:
    """(private broker or None, worker URL, publisher URL, description)."""
    if args.broker_url or args.use_env_broker:
        url = args.broker_url or os.environ["MQTT_URL"]
        return None, url, url, url
    from tests.integration.telemetry.private_mosquitto import (
        PrivateMosquitto,
        mosquitto_binary,
    )

    if mosquitto_binary() is None:
        from telemetry.embedded_broker import EmbeddedBroker

        url = os.environ.get("MQTT_URL")
        if url:
            return None, url, url, url
        broker = EmbeddedBroker().start()
        return broker, broker.url, broker.url, "embedded amqtt"
    mosq = PrivateMosquitto({INGEST_USER: INGEST_PW, GATEWAY_USER: GATEWAY_PW}).start()
    return (
        mosq,
        mosq.url(INGEST_USER, INGEST_PW),
        mosq.url(GATEWAY_USER, GATEWAY_PW),
        f"private mosquitto (deploy/mosquitto) on port {mosq.port}",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (smoke)")
    parser.add_argument("--json", type=Path, help="write results here")
    parser.add_argument("--broker-url", help="use this broker instead of a private one")
    parser.add_argument("--use-env-broker", action="store_true", help="use MQTT_URL")
    parser.add_argument(
        "--only", choices=["batched", "naive", "naive-insert"], help="one pipeline"
    )
    parser.add_argument("--window-ms", type=float, default=20.0, help="batch window")
    parser.add_argument("--scenarios", default="paced,sustained,drain")
    parser.add_argument("--sustained-rates", default="15000", help="readings/s list")
    args = parser.parse_args(argv)
    dur = 5.0 if args.quick else 20.0
    admin = resolve_database_url(
        os.environ.get("DATABASE_URL"),
        Path(os.environ.get("RXDISPATCH_DATA_DIR", "var")),
    )
    db_url = prepare_database(admin)
    broker, mqtt_url, pub_url, broker_desc = _broker(args)
    results: list[Result] = []
    pipelines = [
        p
        for p in (BatchedWorker, NaiveWorker, NaiveInsertWorker)
        if args.only in (None, p.name)
    ]
    BatchedWorker.window_s = args.window_ms / 1000
    want = set(args.scenarios.split(","))
    try:
        for rate in (1000, 2000, 5000) if "paced" in want else ():
            for cls in pipelines:
                # the naive baselines fall behind: report the rate they reached
                # and what was still queued a minute later instead of waiting
                naive = cls is not BatchedWorker
                results.append(
                    run_paced(
                        cls,
                        db_url,
                        mqtt_url,
                        pub_url,
                        scenario=f"paced {rate}/s",
                        rate=rate,
                        duration_s=dur,
                        hot=0.01,
                        drain_timeout_s=60 if naive else 600,
                    )
                )
        if BatchedWorker in pipelines and "sustained" in want:
            for rate_s in args.sustained_rates.split(","):
                for k in (1, 5):
                    results.append(
                        run_paced(
                            BatchedWorker,
                            db_url,
                            mqtt_url,
                            pub_url,
                            scenario=f"sustained {int(rate_s) // 1000}k/s ({k}/msg)",
                            rate=int(rate_s),
                            duration_s=dur,
                            k=k,
                            drain_timeout_s=120,
                        )
                    )
        for cls in pipelines if "drain" in want else []:
            if cls is NaiveWorker:
                continue  # capacity: naive-insert is the (faster) baseline
            backlog = (
                (40_000 if args.quick else 150_000)
                if cls is BatchedWorker
                else (10_000 if args.quick else 30_000)
            )
            results.append(run_drain(cls, db_url, mqtt_url, pub_url, backlog=backlog))
        if BatchedWorker in pipelines and "drain" in want:
            results.append(
                run_drain(
                    BatchedWorker,
                    db_url,
                    mqtt_url,
                    pub_url,
                    backlog=100_000 if args.quick else 300_000,
                    k=5,
                )
            )
    finally:
        if broker is not None:
            getattr(broker, "cleanup", broker.stop)()
        drop_database(admin, db_url.rsplit("/", 1)[-1].split("?")[0])
    _report(results, args, broker_desc)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _report(results: list[Result], args: argparse.Namespace, broker: str) -> None:
    headers = [
        "pipeline",
        "scenario",
        "published",
        "readings/s",
        "lost",
        "dup",
        "p50 commit ms",
        "p99 commit ms",
        "p50 alert ms",
        "p99 alert ms",
        "drain s",
        "load",
    ]
    rows = [
        [
            r.pipeline,
            r.scenario,
            r.published,
            r.readings_per_s,
            r.lost,
            r.duplicates,
            _ms(r.p50_publish_to_commit_ms),
            _ms(r.p99_publish_to_commit_ms),
            _ms(r.extra["p50_publish_to_alert_ms"]),
            _ms(r.p99_publish_to_alert_ms),
            r.drain_s,
            f"{r.extra['loadavg_1m_before']}-{r.extra['loadavg_1m_after']}",
        ]
        for r in results
    ]
    print(f"broker: {broker}; cpus: {os.cpu_count()}")
    print_table(rows, headers)
    by = {(r.pipeline, r.scenario): r for r in results}
    ratios = {}
    for scenario in ("paced 1000/s", "paced 2000/s", "paced 5000/s", "drain"):
        ours = by.get(("batched", scenario))
        base = by.get(("naive", scenario)) or by.get(("naive-insert", scenario))
        if ours and base and base.readings_per_s:
            ratios[scenario] = {
                "readings_per_s_ratio": round(
                    ours.readings_per_s / base.readings_per_s, 2
                ),
                "p99_commit_ratio": (
                    round(
                        base.p99_publish_to_commit_ms / ours.p99_publish_to_commit_ms, 2
                    )
                    if ours.p99_publish_to_commit_ms and base.p99_publish_to_commit_ms
                    else None
                ),
            }
    for scenario, ratio in ratios.items():
        print(
            f"{scenario}: ours/naive throughput x{ratio['readings_per_s_ratio']}, "
            f"naive/ours p99 latency x{ratio['p99_commit_ratio']}"
        )
    if args.json:
        write_json(
            args.json,
            {
                "benchmark": "ingest_throughput",
                "quick": args.quick,
                "broker": broker,
                "results": [asdict(r) for r in results],
                "ratios": ratios,
            },
            baseline="pipelines 'naive' (auto-ack, one INSERT per reading, then"
            " detection) and 'naive-insert' (the same without detection), same broker,"
            " database and publisher",
        )


if __name__ == "__main__":
    main()
