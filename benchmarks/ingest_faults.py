"""Fault runs of the ingest pipeline: nothing lost, nothing duplicated, recovery time.

``python -m benchmarks.ingest_faults [--quick] [--json FILE] [--faults worker,db]
[--share-group G [--workers N]] [--mosquitto KEY=VALUE]``

Each run publishes 2,000 readings/s (QoS 1, paho, own process) to a private
mosquitto started from ``deploy/mosquitto``; the worker is the real
``rxdispatch ingest`` in its own process; PostgreSQL is a private throwaway
cluster (``initdb``/``pg_ctl`` as the ``postgres`` user) so it can be stopped
without touching the machine's shared server. At t = 5 s one fault is injected:

- ``worker``: SIGKILL the worker, start a new one 2 s later (same client id);
- ``broker``: restart mosquitto (SIGTERM, which persists its queues, then start);
- ``db``: ``pg_ctl stop -m immediate`` (a crash), start again 5 s later.

``--share-group G`` runs the workers on a shared subscription instead of the
default plain one; ``--workers N`` (with a group) starts N workers that split
the load, and the worker fault kills and restarts the first of them.
``--mosquitto KEY=VALUE`` overrides a line of the shipped broker config (to
compare settings, e.g. ``max_inflight_messages=1000``).

The publisher starts once every worker says it is ingesting. Afterwards, once the
stored count reaches what was published or stops growing for 15 s, the database
is audited per (box, seq) against what the broker acknowledged to the publisher:
``lost`` and ``duplicates`` must be 0 (``lost`` is None if the worker was still
catching up after 5 minutes). Recovery is the time from the component's restart
until the lag (now minus the newest stored reading's device time) is back under
1 s.
"""

from __future__ import annotations

import argparse
import contextlib
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

import psycopg

from benchmarks._report import print_table, write_json
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
from telemetry.embedded_broker import free_port
from tests.integration.telemetry.private_mosquitto import PrivateMosquitto

PG_BIN = Path("/usr/lib/postgresql/15/bin")
RATE = 2000
SHARE_GROUP = ""
WORKERS = 1
FAULT_AT_S = 5.0


class PrivatePostgres:
    """A throwaway cluster owned by the ``postgres`` user (initdb refuses root)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="rxd-faults-pg-"))
        self.port = free_port()
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")

    def _pg(self, tool: str, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / tool), *args],
            check=True,
            capture_output=True,
        )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self._pg(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            opts,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )

    def crash(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")

    def cleanup(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def start_worker(db_url: str, mqtt_url: str, client_id: str, log: Path) -> Any:
    """``rxdispatch ingest`` in its own process, from this interpreter's checkout (as
    ``api.serve_process`` starts the server), not from whichever checkout installed
    the ``rxdispatch`` console script."""
    env = dict(
        os.environ,
        DATABASE_URL=db_url,
        MQTT_URL=mqtt_url,
        TELEMETRY_CLIENT_ID=client_id,
    )
    if SHARE_GROUP:
        env["TELEMETRY_SHARE_GROUP"] = SHARE_GROUP
    return subprocess.Popen(
        [sys.executable, "-c", "from api.cli import main; main()", "ingest"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _wait_subscribed(workers: list[tuple[Any, Path]], timeout_s: float = 120) -> None:
    """Wait until every worker says it is ingesting (it prints that once connected
    and subscribed, after its migrations): on a loaded host that takes far longer
    than a fixed pause, and readings published before it are nobody's to lose.
    Stop the run if a worker died first: its figures would be noise."""
    deadline = time.time() + timeout_s
    for worker, log in workers:
        while "ingesting from" not in log.read_text(errors="replace"):
            if worker.poll() is not None or time.time() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"an ingest worker did not start:\n{tail}")
            time.sleep(0.1)
    time.sleep(0.5)  # the SUBACK


def _wait_settled(
    db_url: str, expected: int, idle_s: float = 15, cap_s: float = 300
) -> bool:
    """Wait until ``expected`` readings are stored or the count stops growing for
    ``idle_s``; False if it was still growing after ``cap_s`` (behind, not lost)."""
    deadline = time.time() + cap_s
    last, last_change = -1, time.time()
    while time.time() < deadline:
        count = stored_count(db_url)
        if count >= expected:
            return True
        if count != last:
            last, last_change = count, time.time()
        elif time.time() - last_change > idle_s:
            return True
        time.sleep(0.5)
    return False


def lag_s(db_url: str) -> float | None:
    """Now minus the newest stored device time; None if the DB is unreachable."""
    try:
        with psycopg.connect(db_url, connect_timeout=1) as conn:
            row = conn.execute(
                "SELECT extract(epoch FROM now() - max(recorded_at))"
                " FROM telemetry.reading"
                " WHERE recorded_at > now() - interval '1 minute'"
            ).fetchone()
    except psycopg.OperationalError:
        return None
    return float(row[0]) if row and row[0] is not None else None


def run_fault(
    fault: str,
    pg: PrivatePostgres,
    db_url: str,
    mosq: PrivateMosquitto,
    duration_s: float,
    folder: Path,
) -> dict[str, Any]:
    reset(db_url)
    client_id = f"faults-{fault}-{uuid.uuid4().hex[:6]}"
    ingest_url = mosq.url(INGEST_USER, INGEST_PW)
    worker = start_worker(db_url, ingest_url, client_id, folder / f"{fault}.log")
    # more workers share the load (shared subscription); the first is the victim
    other_ids = [f"{client_id}-{i}" for i in range(1, WORKERS)]
    others = [
        start_worker(db_url, ingest_url, other, folder / f"{other}.log")
        for other in other_ids
    ]
    logs = [folder / f"{fault}.log", *(folder / f"{o}.log" for o in other_ids)]
    _wait_subscribed(list(zip([worker, *others], logs, strict=True)))
    # a DB crash outage is longer: keep publishing long enough to see recovery
    publish_s = duration_s + (15.0 if fault == "db" else 0.0)
    # paho publisher: it reconnects and re-sends across the broker restart
    plan = PublishPlan(
        mosq.url(GATEWAY_USER, GATEWAY_PW),
        f"pub-{client_id}",
        RATE,
        publish_s,
        raw=False,
    )
    proc, out = run_publisher(plan)
    time.sleep(FAULT_AT_S)
    injected = time.time()
    if fault == "worker":
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        time.sleep(2.0)
        worker = start_worker(db_url, ingest_url, client_id, folder / f"{fault}.log")
    elif fault == "broker":
        mosq.stop()
        mosq.start()
    elif fault == "db":
        pg.crash()
        time.sleep(5.0)
        pg.start()
    restarted = time.time()
    recovered_at = None
    while time.time() - restarted < 120:
        lag = lag_s(db_url)
        if lag is not None and lag < 1.0 and time.time() > restarted + 0.2:
            recovered_at = time.time()
            break
        time.sleep(0.1)
    pub = out.get(timeout=publish_s + 180)
    proc.join(10)
    settled = _wait_settled(db_url, pub["readings"])
    time.sleep(1.0)  # anything still in flight would show up as a duplicate
    counts = audit(db_url)
    for proc_, proc_id in zip([worker, *others], [client_id, *other_ids], strict=True):
        proc_.send_signal(signal.SIGTERM)
        proc_.wait(30)
        forget_session(ingest_url, proc_id)
    return {
        "fault": fault,
        "workers": WORKERS,
        "published": pub["readings"],
        "acked_by_broker": pub["acked_messages"],
        "stored": counts["rows"],
        # None: still storing when the wait ended (a backlog, not a loss)
        "lost": pub["readings"] - counts["distinct"] if settled else None,
        "duplicates": counts["rows"] - counts["distinct"],
        "outage_s": round(restarted - injected, 2),
        "recovery_s": round(recovered_at - restarted, 2) if recovered_at else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--faults", default="worker,broker,db")
    parser.add_argument("--share-group", default="", help="$share group of the worker")
    parser.add_argument("--workers", type=int, default=1, help="> 1 needs a group")
    parser.add_argument(
        "--mosquitto",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a line of the shipped mosquitto.conf (experiments)",
    )
    args = parser.parse_args(argv)
    global SHARE_GROUP, WORKERS
    SHARE_GROUP = args.share_group
    WORKERS = args.workers
    if WORKERS > 1 and not SHARE_GROUP:
        parser.error("several workers need --share-group")
    overrides = dict(kv.split("=", 1) for kv in args.mosquitto)
    duration_s = 25.0 if args.quick else 40.0
    folder = Path(tempfile.mkdtemp(prefix="rxd-faults-"))
    pg = PrivatePostgres()
    mosq = PrivateMosquitto(
        {INGEST_USER: INGEST_PW, GATEWAY_USER: GATEWAY_PW}, overrides=overrides
    )
    results = []
    try:
        pg.start()
        mosq.start()
        db_url = prepare_database(pg.url)
        for fault in args.faults.split(","):
            results.append(run_fault(fault, pg, db_url, mosq, duration_s, folder))
    finally:
        mosq.cleanup()
        pg.cleanup()
        if not os.environ.get("RXD_KEEP_LOGS"):
            shutil.rmtree(folder, ignore_errors=True)
        print(f"logs: {folder}")
    headers = [
        "fault",
        "published",
        "stored",
        "lost",
        "duplicates",
        "outage s",
        "recovery s",
    ]
    rows = [
        [
            r["fault"],
            r["published"],
            r["stored"],
            r["lost"],
            r["duplicates"],
            r["outage_s"],
            r["recovery_s"],
        ]
        for r in results
    ]
    print_table(rows, headers)
    if args.json:
        write_json(
            args.json,
            {
                "benchmark": "ingest_faults",
                "rate_readings_s": RATE,
                "quick": args.quick,
                "share_group": SHARE_GROUP or None,
                "workers": WORKERS,
                "mosquitto_overrides": overrides,
                "results": results,
            },
            baseline="no second pipeline: each run is audited against what the"
            " broker acknowledged to the publisher ('published'); the target"
            " is 0 lost and 0 duplicates",
        )


if __name__ == "__main__":
    main()
