"""Ingest past one worker: 1 and 2 workers on RabbitMQ against 1 on Mosquitto.

``python -m benchmarks.ingest_scaleout [--quick] [--json FILE]
[--faults none,worker,db,broker] [--setups mqtt:1,amqp:1,amqp:2]``

Everything is private and started here: a throwaway PostgreSQL cluster (so it
can be stopped), a Mosquitto from ``deploy/mosquitto`` and a RabbitMQ node from
``deploy/rabbitmq`` (next to the machine's own node, never touching it). The
workers are the real ``rxdispatch ingest`` (``TELEMETRY_TRANSPORT=amqp
--workers N`` for RabbitMQ, the default MQTT transport for Mosquitto), each in
its own process. Publishers send single-reading QoS 1 messages over MQTT (the
devices' protocol) for 2,000 boxes.

For each setup (mosquitto x1, amqp x1, amqp x2) and each fault:

- ``none``: *sustained*: publish flat out for a while with the workers running;
  ``readings_per_s`` = readings stored / (last commit - first publish).
  *drain*: a backlog published while the workers are stopped (Mosquitto keeps it
  on the worker's persistent session, RabbitMQ in the quorum queue), then
  ``drain_readings_per_s`` = readings stored per second between 20 % and 80 % of
  the backlog after the workers restart (no start-up skew);
- ``worker``: 2,000 readings/s (the raw QoS 1 publisher); at 5 s SIGKILL one worker
  process (with ``--workers 2`` the supervisor restarts it; with one worker this
  script starts it again 1 s later);
- ``db``: 2,000 readings/s; at 5 s PostgreSQL is stopped (``immediate``), and
  started again 5 s later;
- ``broker`` (RabbitMQ only): a 3-node cluster, queues replicated on all three;
  the publisher on one node, the workers given all three URLs; at 5 s the queue's
  first leader is SIGKILLed (restarted before the next run).

Each run is audited in PostgreSQL by (box, seq) against what the broker
acknowledged: ``lost`` = published - distinct stored (None if still storing when
the wait ended), ``duplicates`` = rows - distinct. ``recovery_s``: from the
restart until the lag (now - newest device time stored) is back under 1 s.
Targets: 0 lost and 0 duplicates everywhere; 2 RabbitMQ workers drain >= 1.6x
one on a quiet machine (on a loaded one the ratio says little).

"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks._report import print_table, write_json
from benchmarks.ingest_faults import PrivatePostgres, lag_s
from benchmarks.ingest_throughput import (
    GATEWAY_PW,
    GATEWAY_USER,
    INGEST_PW,
    INGEST_USER,
    PublishPlan,
    audit,
    forget_session,
    prepare_database,
    reset,
    run_publisher,
    stored_count,
)
from telemetry.amqp import QUEUE, UNROUTABLE_QUEUE
from tests.integration.telemetry.private_mosquitto import PrivateMosquitto
from tests.integration.telemetry.private_rabbitmq import PrivateRabbitMQ

SETUPS = [("mqtt", 1), ("amqp", 1), ("amqp", 2)]
FAULT_RATE = 2000
FAULT_AT_S = 5.0


class Setup:
    """Starts and stops the workers of one (transport, workers) setup."""

    def __init__(
        self,
        transport: str,
        workers: int,
        db_url: str,
        mosq: PrivateMosquitto,
        rabbit: PrivateRabbitMQ,
        folder: Path,
    ) -> None:
        self.transport, self.workers, self.db_url = transport, workers, db_url
        self.mosq, self.rabbit = mosq, rabbit
        # the 3-node cluster run: publish to one node, workers know all three
        self.publish_node: PrivateRabbitMQ = rabbit
        self.ingest_nodes: list[PrivateRabbitMQ] = [rabbit]
        self.client_id = f"scaleout-{uuid.uuid4().hex[:6]}"
        self.log = folder / f"{transport}-{workers}-{self.client_id}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def publish_url(self) -> str:
        if self.transport == "amqp":
            return self.publish_node.mqtt_url(GATEWAY_USER, GATEWAY_PW)
        return self.mosq.url(GATEWAY_USER, GATEWAY_PW)

    def start(self, timeout_s: float = 180.0) -> None:
        env = dict(os.environ, DATABASE_URL=self.db_url)
        if self.transport == "amqp":
            env["TELEMETRY_TRANSPORT"] = "amqp"
            env["TELEMETRY_AMQP_URL"] = ",".join(
                n.amqp_url(INGEST_USER, INGEST_PW) for n in self.ingest_nodes
            )
        else:
            env["TELEMETRY_TRANSPORT"] = "mqtt"
            env["MQTT_URL"] = self.mosq.url(INGEST_USER, INGEST_PW)
            env["TELEMETRY_CLIENT_ID"] = self.client_id
        before = self._started_lines()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from api.cli.main import main; main()", "ingest",
             "--workers", str(self.workers)],
            env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.time() + timeout_s
        while self._started_lines() < before + self.workers:
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("workers did not start:\n" + self._tail())
            time.sleep(0.1)
        time.sleep(0.5)

    def _started_lines(self) -> int:
        if not self.log.exists():
            return 0
        return self.log.read_text(errors="replace").count("ingesting from")

    def _tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]

    def kill_one(self) -> float:
        """SIGKILL one worker process; when it is back (restart time)."""
        assert self.proc is not None
        if self.workers == 1:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)
            time.sleep(1.0)
            self.start()
            return time.time()
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        victim = int(children.read_text().split()[0])
        before = self._started_lines()
        os.kill(victim, signal.SIGKILL)
        deadline = time.time() + 180
        while self._started_lines() <= before and time.time() < deadline:
            time.sleep(0.1)  # the supervisor restarts it after its back-off
        return time.time()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        self.proc = None

    def forget(self) -> None:
        """Leave no session or queued message for the next setup."""
        if self.transport == "mqtt":
            forget_session(self.mosq.url(INGEST_USER, INGEST_PW), self.client_id)
        else:
            for queue in (QUEUE, UNROUTABLE_QUEUE):
                self.publish_node.ctl("purge_queue", queue)


def _wait_stored(
    db_url: str, expected: int, idle_s: float = 20, cap_s: float = 600
) -> tuple[bool, float | None, float | None]:
    """Wait until ``expected`` are stored (or the count stops growing for
    ``idle_s``); (settled, last growth seen, readings/s between 20 % and 80 % of
    ``expected``: the drain rate without the workers' start-up skew)."""
    deadline = time.time() + cap_s
    last, last_change = -1, time.time()
    marks: dict[float, tuple[float, int]] = {}
    while time.time() < deadline:
        try:
            count = stored_count(db_url)
        except Exception:  # PostgreSQL restarting
            time.sleep(0.5)
            continue
        now = time.time()
        for share in (0.2, 0.8):
            if share not in marks and count >= share * expected:
                marks[share] = (now, count)
        if count != last:
            last, last_change = count, now
        if count >= expected or now - last_change > idle_s:
            rate = None
            if 0.2 in marks and 0.8 in marks and marks[0.8][0] > marks[0.2][0]:
                (t0, c0), (t1, c1) = marks[0.2], marks[0.8]
                rate = (c1 - c0) / (t1 - t0)
            return True, (now if count >= expected else last_change), rate
        time.sleep(0.05)
    return False, last_change, None


def _result(
    setup: Setup, fault: str, pub: dict[str, Any], settled: bool
) -> dict[str, Any]:
    time.sleep(1.0)  # anything still in flight would show up as a duplicate
    counts = audit(setup.db_url)
    return {
        "transport": setup.transport,
        "workers": setup.workers,
        "fault": fault,
        "published": pub["readings"],
        "acked_by_broker": pub["acked_messages"],
        "stored": counts["rows"],
        "lost": pub["readings"] - counts["distinct"] if settled else None,
        "duplicates": counts["rows"] - counts["distinct"],
    }


def run_none(setup: Setup, flat_s: float, backlog: int) -> dict[str, Any]:
    """Sustained (flat out, workers running) and drain (a backlog) in one row."""
    reset(setup.db_url)
    setup.start()
    plan = PublishPlan(setup.publish_url, f"pub-{setup.client_id}", 0, flat_s)
    proc, out = run_publisher(plan)
    pub = out.get(timeout=flat_s + 300)
    proc.join(10)
    settled, last, _rate = _wait_stored(setup.db_url, pub["readings"])
    row = _result(setup, "none", pub, settled)
    span = (last or time.time()) - pub["start"]
    row["readings_per_s"] = round(row["stored"] / span) if span > 0 else None
    # drain: workers stopped (sessions kept), a backlog, workers restarted
    setup.stop()
    reset(setup.db_url)
    plan = PublishPlan(
        setup.publish_url, f"pub2-{setup.client_id}", 0, 600.0,
        max_readings=backlog, seq_offset=10_000_000,
    )  # fmt: skip
    proc, out = run_publisher(plan)
    drained = out.get(timeout=900)
    proc.join(10)
    setup.start()
    settled, _last, rate = _wait_stored(setup.db_url, drained["readings"])
    row["drain_backlog"] = drained["readings"]
    row["drain_lost"] = drained["readings"] - audit(setup.db_url)["distinct"]
    row["drain_readings_per_s"] = round(rate) if rate else None
    row["recovery_s"] = None
    return row


def run_fault(
    setup: Setup, fault: str, pg: PrivatePostgres, duration_s: float
) -> dict[str, Any]:
    reset(setup.db_url)
    setup.start()
    # paho (reconnects, re-sends) only where the broker connection breaks: its
    # 1,000-message window would cap the rate at 1,000 / RabbitMQ's confirm
    # latency, which on a loaded host is the broker's pace, not the workers'
    plan = PublishPlan(
        setup.publish_url, f"pub-{setup.client_id}", FAULT_RATE, duration_s,
        raw=fault != "broker",
    )  # fmt: skip
    proc, out = run_publisher(plan)
    time.sleep(FAULT_AT_S)
    if fault == "worker":
        restarted = setup.kill_one()
    elif fault == "broker":
        victim = setup.ingest_nodes[-1]  # the queue's first leader (see cluster())
        victim.kill()
        restarted = time.time()  # the other two serve on: recovery from the kill
    else:
        pg.crash()
        time.sleep(5.0)
        pg.start()
        restarted = time.time()
    recovered_at = None
    while time.time() - restarted < 120:
        lag = lag_s(setup.db_url)
        if lag is not None and lag < 1.0 and time.time() > restarted + 0.2:
            recovered_at = time.time()
            break
        time.sleep(0.1)
    pub = out.get(timeout=duration_s + 300)
    proc.join(10)
    settled, last, _rate = _wait_stored(setup.db_url, pub["readings"])
    row = _result(setup, fault, pub, settled)
    span = (last or time.time()) - pub["start"]
    row["readings_per_s"] = round(row["stored"] / span) if span > 0 else None
    row["recovery_s"] = round(recovered_at - restarted, 2) if recovered_at else None
    return row


def start_cluster(folder: Path) -> list[PrivateRabbitMQ]:
    """Three clustered nodes; the ingest queues replicated on all three. Returns
    [publish node, other, first leader] (the leader is killed in the run)."""
    cookie = "RXDSCALEOUTCLUSTER" + uuid.uuid4().hex[:8].upper()
    nodes = [
        PrivateRabbitMQ(folder=folder / f"cluster-{i}", cookie=cookie) for i in range(3)
    ]
    first = nodes[0].start()
    for node in nodes[1:]:
        node.start()
        node.join(first)
    first.add_ingest_user(INGEST_USER, INGEST_PW)
    first.add_gateway(GATEWAY_USER, GATEWAY_PW)
    for node in nodes[1:]:
        first.queues("grow", node.node, "all")
    return [nodes[1], nodes[2], first]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--faults", default="none,worker,db,broker")
    parser.add_argument(
        "--setups",
        default=",".join(f"{t}:{w}" for t, w in SETUPS),
        help="transport:workers pairs (default mqtt:1,amqp:1,amqp:2)",
    )
    args = parser.parse_args(argv)
    setups = [(t, int(w)) for t, w in (s.split(":") for s in args.setups.split(","))]
    flat_s, backlog, fault_s = (
        (8.0, 100_000, 20.0) if args.quick else (30.0, 200_000, 40.0)
    )
    folder = Path(tempfile.mkdtemp(prefix="rxd-scaleout-"))
    pg = PrivatePostgres()
    mosq = PrivateMosquitto({INGEST_USER: INGEST_PW, GATEWAY_USER: GATEWAY_PW})
    rabbit = PrivateRabbitMQ(folder=folder / "rabbitmq")
    results: list[dict[str, Any]] = []
    cluster: list[PrivateRabbitMQ] = []
    try:
        pg.start()
        mosq.start()
        rabbit.start()
        rabbit.add_ingest_user(INGEST_USER, INGEST_PW)
        rabbit.add_gateway(GATEWAY_USER, GATEWAY_PW)
        db_url = prepare_database(pg.url)
        faults = args.faults.split(",")
        if "broker" in faults:
            cluster = start_cluster(folder)
        for transport, workers in setups:
            for fault in faults:
                if fault == "broker" and transport != "amqp":
                    continue  # a cluster fault: Mosquitto has no cluster
                setup = Setup(transport, workers, db_url, mosq, rabbit, folder)
                if fault == "broker":
                    setup.publish_node, setup.ingest_nodes = cluster[0], cluster
                    if cluster[-1].proc is None or cluster[-1].proc.poll() is not None:
                        cluster[-1].start()  # back after the previous run's kill
                        time.sleep(5.0)
                try:
                    if fault == "none":
                        row = run_none(setup, flat_s, backlog)
                    else:
                        row = run_fault(setup, fault, pg, fault_s)
                finally:
                    setup.stop()
                    setup.forget()
                print(row, flush=True)
                results.append(row)
    finally:
        for node in cluster:
            node.cleanup()
        rabbit.cleanup()
        mosq.cleanup()
        pg.cleanup()
        if not os.environ.get("RXD_KEEP_LOGS"):
            shutil.rmtree(folder, ignore_errors=True)
        print(f"logs: {folder}")
    headers = ["transport", "workers", "fault", "readings/s", "drain/s", "lost",
               "duplicates", "recovery s"]  # fmt: skip
    print_table(
        [
            [
                r["transport"],
                r["workers"],
                r["fault"],
                r["readings_per_s"],
                r.get("drain_readings_per_s"),
                r["lost"],
                r["duplicates"],
                r["recovery_s"],
            ]
            for r in results
        ],
        headers,
    )
    drains = {
        r["workers"]: r["drain_readings_per_s"]
        for r in results
        if r["transport"] == "amqp" and r["fault"] == "none"
    }
    ratio = round(drains[2] / drains[1], 2) if drains.get(1) and drains.get(2) else None
    print(f"amqp drain, 2 workers / 1 worker: {ratio} (target >= 1.6 on a quiet host)")
    if args.json:
        write_json(
            args.json,
            {
                "benchmark": "ingest_scaleout",
                "quick": args.quick,
                "fault_rate_readings_s": FAULT_RATE,
                "amqp_drain_ratio_2_vs_1": ratio,
                "results": results,
            },
            baseline="1 worker on Mosquitto (the single-subscriber default) in the"
            " same run; every row audited in PostgreSQL by (box, seq): target 0"
            " lost and 0 duplicates",
        )


if __name__ == "__main__":
    main()
