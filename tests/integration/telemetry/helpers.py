"""Helpers of the telemetry integration tests: publishers, waiting, a TCP proxy."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from telemetry.mqtt import parse_mqtt_url
from telemetry.service import IngestService
from telemetry.topics import telemetry_topic

#: Bound of every wait on the broker, a worker or the database. Generous on
#: purpose (a busy CI host is slow): a wait ends as soon as its condition holds.
WAIT_S = 60.0


def reading(
    seq: int, temp_c: float = 5.0, at: datetime | None = None, **extra: Any
) -> dict[str, Any]:
    """One wire reading, ``at`` defaulting to now."""
    at = at or datetime.now(UTC)
    return {
        "seq": seq,
        "ts": at.isoformat().replace("+00:00", "Z"),
        "temp_c": temp_c,
        **extra,
    }


def minutes_ago(n: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=n)


class Publisher:
    """A paho QoS 1 publisher counting PUBACKs (is_published() fails offline)."""

    def __init__(self, url: str, client_id: str, prefix: str) -> None:
        addr = parse_mqtt_url(url)
        self.prefix = prefix
        self.acked = 0
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        if addr.username:
            self.client.username_pw_set(addr.username, addr.password)
        self.client.on_publish = self._on_publish
        self.client.max_inflight_messages_set(1000)
        self.client.connect(addr.host, addr.port)
        self.client.loop_start()

    def _on_publish(self, *_: Any) -> None:
        with self._lock:
            self.acked += 1

    def send(
        self,
        box_id: str,
        payload: Any,
        *,
        raw: bytes | None = None,
        topic: str | None = None,
    ) -> None:
        body = raw if raw is not None else orjson.dumps(payload)
        self.client.publish(topic or telemetry_topic(box_id, self.prefix), body, qos=1)

    def wait_acked(self, n: int, timeout_s: float = WAIT_S) -> None:
        wait_for(lambda: self.acked >= n, timeout_s, f"{n} PUBACKs")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def forget_session(url: str, client_id: str) -> None:
    """Drop a persistent session left on a shared broker (clean-session connect,
    done once the broker acknowledged it)."""
    addr = parse_mqtt_url(url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    if addr.username:
        client.username_pw_set(addr.username, addr.password)
    acked = threading.Event()
    client.on_connect = lambda *_: acked.set()
    client.connect(addr.host, addr.port)
    client.loop_start()
    try:
        acked.wait(WAIT_S)
    finally:
        client.loop_stop()
        client.disconnect()


def wait_subscribed(service: IngestService, timeout_s: float = WAIT_S) -> None:
    """Wait until the broker acknowledged the worker's subscription: a message
    published before that would not reach the worker."""
    wait_for(service.transport.subscribed.is_set, timeout_s, "the ingest subscription")


def wait_for(
    predicate: Callable[[], bool], timeout_s: float = WAIT_S, what: str = "condition"
) -> None:
    """Poll until ``predicate`` holds; fail with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def scalar(url: str, query: str, params: Iterable[Any] = ()) -> Any:
    with psycopg.connect(url) as conn:
        row = conn.execute(query, tuple(params)).fetchone()
    return row[0] if row else None


class TcpProxy:
    """Forwards a local TCP port to PostgreSQL; ``down()`` cuts every connection.

    Built from a database URL (TCP host or unix-socket folder, as the embedded
    server uses); :attr:`url` is the same database reached through the proxy.
    """

    def __init__(self, database_url: str) -> None:
        info = conninfo_to_dict(database_url)
        host, port = str(info.get("host") or "127.0.0.1"), int(info.get("port") or 5432)
        self._unix = f"{host}/.s.PGSQL.{port}" if host.startswith("/") else None
        self.target = (host, port)
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        info.update(host="127.0.0.1", port=str(self.port))
        self.url = make_conninfo(**{k: str(v) for k, v in info.items()})

    def up(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(16)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                if self._unix:
                    upstream = socket.socket(socket.AF_UNIX)
                    upstream.connect(self._unix)
                else:
                    upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def down(self) -> None:
        if self._server is not None:
            # shutdown wakes the accept() thread; close alone leaves it listening
            with contextlib.suppress(OSError):
                self._server.shutdown(socket.SHUT_RDWR)
            self._server.close()
            self._server = None
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
