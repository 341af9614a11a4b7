"""Composition of one ingest worker: transport + worker thread + store.

The transport is MQTT (one subscriber on Mosquitto or the embedded broker) or,
with ``amqp_url``, AMQP (a consumer of RabbitMQ's quorum queue; see
``telemetry.amqp``); both hand messages to the same worker and ack after commit.

``api`` (``rxdispatch ingest`` / ``serve``) builds this from settings; benchmarks
and tests build it directly.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from dispatch.ports import Clock
from dispatch.worker_health import WorkerHealth
from telemetry.amqp import AmqpTransport, Topology
from telemetry.downlink import AmqpDownlink, Downlink, MqttDownlink
from telemetry.ingest import CommitHook, IngestParams, IngestWorker
from telemetry.model import InboundMessage
from telemetry.mqtt import MqttTransport
from telemetry.store import TelemetryStore
from telemetry.topics import subscription_filter

__all__ = ["IngestService"]

log = logging.getLogger(__name__)


class IngestService:
    """Runs one worker against a broker and a database until :meth:`stop`."""

    def __init__(
        self,
        *,
        database_url: str,
        mqtt_url: str = "",
        client_id: str = "rxdispatch-ingest-1",
        amqp_url: str | None = None,
        amqp_prefetch: int = 4000,
        amqp_delivery_limit: int = 100,
        share_group: str | None = None,
        params: IngestParams | None = None,
        ca_file: str | None = None,
        on_excursions: Callable[[list[int]], None] | None = None,
        on_commit: CommitHook | None = None,
        clock: Clock | None = None,
        health: WorkerHealth | None = None,
    ) -> None:
        self.params = params or IngestParams()
        self.store = TelemetryStore(database_url, clock=clock)
        self.inbox: queue.SimpleQueue[InboundMessage] = queue.SimpleQueue()
        self.transport: MqttTransport | AmqpTransport
        self.downlink: Downlink
        if amqp_url is not None:
            self.downlink = AmqpDownlink(
                amqp_url, topic_prefix=self.params.topic_prefix, ca_file=ca_file
            )
            self.transport = AmqpTransport(
                amqp_url,
                inbox=self.inbox,
                topology=Topology(
                    self.params.topic_prefix, delivery_limit=amqp_delivery_limit
                ),
                prefetch=amqp_prefetch,
                ca_file=ca_file,
                clock=self.store.clock,
            )
        else:
            self.downlink = MqttDownlink(
                mqtt_url,
                client_id=f"{client_id}-downlink"[:64],
                topic_prefix=self.params.topic_prefix,
                ca_file=ca_file,
            )
            self.transport = MqttTransport(
                mqtt_url,
                client_id=client_id,
                subscription=subscription_filter(self.params.topic_prefix, share_group),
                inbox=self.inbox,
                ca_file=ca_file,
                clock=self.store.clock,
            )
        self.worker = IngestWorker(
            self.store,
            self.inbox,
            self.transport.ack,
            params=self.params,
            on_excursions=on_excursions,
            on_commit=on_commit,
            health=health,
            downlink=self.downlink,
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, *, wait_connected_s: float | None = 10.0) -> IngestService:
        """Prepare partitions, connect, start the worker thread; then wait up to
        ``wait_connected_s`` until the broker acknowledged the subscription (from
        then on every message published reaches this worker; the transport's
        ``subscribed`` event tells when that is)."""
        try:
            self.store.ensure_partitions_around(self.store.clock.now())
        except Exception:  # the worker retries; partitions are re-ensured per batch
            log.warning("could not prepare partitions at startup")
        self.transport.start()
        self.downlink.start()
        self._thread = threading.Thread(
            target=self.worker.run_supervised,
            args=(self._stop,),
            name="telemetry-ingest",
            daemon=True,
        )
        self._thread.start()
        if wait_connected_s is not None and not self.transport.subscribed.wait(
            wait_connected_s
        ):
            log.warning("mqtt broker not reachable or not subscribed yet; retrying")
        return self

    def stop(self) -> None:
        """Stop the worker (its unacked batch is redelivered later) and disconnect."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.transport.stop()
        self.downlink.stop()
        self.store.close()

    def __enter__(self) -> IngestService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
