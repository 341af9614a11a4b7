"""``rxdispatch ingest --workers N``: N ingest worker processes on RabbitMQ.

Each worker is ``rxdispatch ingest --worker-index I`` in its own process (the
decoder and the commit are CPU-bound Python: threads would share one GIL); they
consume the same quorum queue, which spreads deliveries among them and gives a
dead worker's unacked messages to the others. This supervisor migrated the
database already, forwards SIGINT/SIGTERM, and restarts a worker that died
(after a back-off), so a crash costs a redelivery, not a worker.

Only the AMQP transport takes N > 1: on Mosquitto a ``$share`` group loses
messages in flight to a killed member and those published while the workers
re-subscribe after a broker restart (docs/telemetry-wire-contract.md).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time

__all__ = ["MQTT_SINGLE_WORKER", "run_workers"]

log = logging.getLogger(__name__)

MQTT_SINGLE_WORKER = (
    "--workers > 1 needs TELEMETRY_TRANSPORT=amqp (RabbitMQ): on Mosquitto a "
    "shared subscription loses messages when a worker dies or the broker "
    "restarts, so the MQTT transport runs one worker"
)


def _spawn(index: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
        [
            sys.executable,
            "-c",
            "from api.cli.main import main; main()",
            "ingest",
            "--worker-index",
            str(index),
        ]
    )


def run_workers(count: int, *, restart_backoff_s: float = 1.0) -> None:
    """Run ``count`` worker processes until SIGINT/SIGTERM, restarting the dead."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    procs = [_spawn(i) for i in range(count)]
    try:
        while not stop.wait(0.5):
            for i, proc in enumerate(procs):
                code = proc.poll()
                if code is not None and not stop.is_set():
                    log.warning("ingest worker %d exited (%s); restarting", i, code)
                    time.sleep(restart_backoff_s)
                    procs[i] = _spawn(i)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 60
        for proc in procs:
            try:
                proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
