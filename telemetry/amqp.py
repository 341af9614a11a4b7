"""The AMQP ingest transport: competing consumers of a RabbitMQ quorum queue.

Boxes still speak MQTT, to RabbitMQ's MQTT plugin, which publishes every message
to ``amq.topic`` with the topic's ``/`` turned into ``.`` (routing key
``rxdispatch.v1.boxes.rig.2.telemetry`` for box ``rig.2``). The topology
(:func:`declare_topology`, also shipped as ``deploy/rabbitmq/definitions.json``)
binds ``amq.topic`` to the ``rxdispatch.telemetry`` topic exchange, whose queue
binding ``<prefix>.boxes.#`` keeps dotted box ids; whatever that exchange
cannot route goes to its alternate exchange and the ``rxdispatch.unroutable``
queue, which the worker also consumes so every such message becomes a dead
letter in PostgreSQL (reason ``unknown_topic``) and is counted. The telemetry
queue is a durable quorum queue with a delivery limit whose excess goes to
``rxdispatch.telemetry.dead`` (kept for an operator, never dropped).

Same contract as :class:`telemetry.mqtt.MqttTransport`: messages go to the
worker's inbox as :class:`InboundMessage` (topic rebuilt in MQTT form, ``mid``
the delivery tag), and :meth:`AmqpTransport.ack` is called only after the
batch's commit (manual ack, bounded prefetch). A delivery tag is valid only on
its channel: acks of messages from a lost connection are dropped (the broker
redelivers those; the store's (box, seq) uniqueness absorbs the repeat).
Several workers consume the one queue; RabbitMQ spreads deliveries among them.

pika's ``BlockingConnection`` is not thread-safe: it lives on this transport's
own thread, and acks reach it through ``add_callback_threadsafe``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from dispatch.clock import SystemClock
from dispatch.ports import Clock
from telemetry.model import InboundMessage

__all__ = [
    "DEAD_QUEUE",
    "EXCHANGE",
    "QUEUE",
    "UNROUTABLE_QUEUE",
    "AmqpTransport",
    "Topology",
    "declare_topology",
    "topic_from_routing_key",
    "topology_definitions",
]

log = logging.getLogger(__name__)

EXCHANGE = "rxdispatch.telemetry"
QUEUE = "rxdispatch.telemetry"
UNROUTABLE_EXCHANGE = "rxdispatch.unroutable"
UNROUTABLE_QUEUE = "rxdispatch.unroutable"
DEAD_EXCHANGE = "rxdispatch.telemetry.dead"
DEAD_QUEUE = "rxdispatch.telemetry.dead"
MQTT_EXCHANGE = "amq.topic"
_STAMP_EVERY_S = 0.001


class Inbox(Protocol):
    """Where the transport puts messages (``queue.SimpleQueue`` or ``Queue``)."""

    def put(self, item: InboundMessage, /) -> None: ...


@dataclass(frozen=True, slots=True)
class Topology:
    """Names and limits of the ingest topology for one topic prefix."""

    topic_prefix: str = "rxdispatch/v1"
    queue: str = QUEUE
    delivery_limit: int = 100

    @property
    def binding_key(self) -> str:
        """``<prefix>.boxes.#``: ``#`` keeps box ids that contain dots."""
        return self.topic_prefix.replace("/", ".") + ".boxes.#"

    def queue_arguments(self) -> dict[str, Any]:
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": self.delivery_limit,
            "x-dead-letter-exchange": DEAD_EXCHANGE,
        }


def topology_definitions(topology: Topology | None = None) -> dict[str, Any]:
    """The topology as a RabbitMQ definitions document (``load_definitions``),
    so a node has it before any device connects."""
    t = topology or Topology()
    vhost = "/"
    quorum = {"x-queue-type": "quorum"}

    def exchange(name: str, kind: str, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": name,
            "vhost": vhost,
            "type": kind,
            "durable": True,
            "auto_delete": False,
            "internal": False,
            "arguments": args,
        }

    def queue(name: str, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": name,
            "vhost": vhost,
            "durable": True,
            "auto_delete": False,
            "arguments": args,
        }

    def binding(source: str, dest: str, kind: str, key: str) -> dict[str, Any]:
        return {
            "source": source,
            "vhost": vhost,
            "destination": dest,
            "destination_type": kind,
            "routing_key": key,
            "arguments": {},
        }

    return {
        "vhosts": [{"name": vhost}],
        "exchanges": [
            exchange(UNROUTABLE_EXCHANGE, "fanout", {}),
            exchange(DEAD_EXCHANGE, "fanout", {}),
            exchange(EXCHANGE, "topic", {"alternate-exchange": UNROUTABLE_EXCHANGE}),
        ],
        "queues": [
            queue(UNROUTABLE_QUEUE, quorum),
            queue(DEAD_QUEUE, quorum),
            queue(t.queue, t.queue_arguments()),
        ],
        "bindings": [
            binding(UNROUTABLE_EXCHANGE, UNROUTABLE_QUEUE, "queue", ""),
            binding(DEAD_EXCHANGE, DEAD_QUEUE, "queue", ""),
            binding(MQTT_EXCHANGE, EXCHANGE, "exchange", "#"),
            binding(EXCHANGE, t.queue, "queue", t.binding_key),
        ],
    }


def declare_topology(channel: BlockingChannel, topology: Topology) -> None:
    """Declare (idempotently) what :func:`topology_definitions` describes."""
    doc = topology_definitions(topology)
    for ex in doc["exchanges"]:
        channel.exchange_declare(
            ex["name"], ex["type"], durable=True, arguments=ex["arguments"] or None
        )
    for q in doc["queues"]:
        channel.queue_declare(q["name"], durable=True, arguments=q["arguments"])
    for b in doc["bindings"]:
        if b["destination_type"] == "exchange":
            channel.exchange_bind(b["destination"], b["source"], b["routing_key"])
        else:
            channel.queue_bind(b["destination"], b["source"], b["routing_key"])


def topic_from_routing_key(routing_key: str, topic_prefix: str) -> str:
    """The MQTT topic a box published to, from the plugin's routing key.

    The plugin maps ``/`` to ``.`` and leaves dots inside a level alone, so the
    box id is everything between ``<prefix>.boxes.`` and ``.telemetry``. Any
    other key is returned unchanged (the decoder rejects it as an unknown topic).
    """
    head = topic_prefix.replace("/", ".") + ".boxes."
    tail = ".telemetry"
    if (
        routing_key.startswith(head)
        and routing_key.endswith(tail)
        and len(routing_key) > len(head) + len(tail)
    ):
        box = routing_key[len(head) : -len(tail)]
        return f"{topic_prefix}/boxes/{box}/telemetry"
    return routing_key


def _connection_parameters(url: str, ca_file: str | None) -> pika.URLParameters:
    params = pika.URLParameters(url)
    if url.startswith("amqps://"):
        context = ssl.create_default_context(cafile=ca_file)
        params.ssl_options = pika.SSLOptions(context, params.host)
    params.heartbeat = 30
    params.blocked_connection_timeout = 300
    params.connection_attempts = 1
    params.socket_timeout = 5
    return params


class AmqpTransport:
    """A manual-ack consumer of the telemetry quorum queue (and the unroutable
    queue) with a bounded prefetch, reconnecting on its own thread."""

    def __init__(
        self,
        url: str,
        *,
        inbox: Inbox,
        topology: Topology | None = None,
        prefetch: int = 4000,
        ca_file: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.topology = topology or Topology()
        self.subscription = f"amqp queue {self.topology.queue}"
        # several nodes of a cluster: tried in order on every (re)connect
        self._params = [
            _connection_parameters(u.strip(), ca_file) for u in url.split(",") if u
        ]
        self._prefetch = prefetch
        self._put = inbox.put
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._stamp: datetime = self._clock.now()
        self._stamp_t = float("-inf")
        self._generation = 0
        self._lock = threading.Lock()
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        # set once this connection consumes: deliveries reach the inbox from then on
        self.subscribed = threading.Event()
        self.acked = 0
        self._acked_upto = 0

    # -- connection thread --------------------------------------------------
    def start(self) -> None:
        """Connect and consume in the background (reconnects on its own)."""
        self._thread = threading.Thread(
            target=self._run, name="telemetry-amqp", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        delay = 0.5
        while not self._stop.is_set():
            try:
                self._consume_once()
                delay = 0.5
            except (pika.exceptions.AMQPError, OSError) as exc:
                log.warning("amqp connection lost: %s", type(exc).__name__)
            finally:
                self._drop_connection()
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, 5.0)

    def _consume_once(self) -> None:
        connection = pika.BlockingConnection(self._params)
        channel = connection.channel()
        declare_topology(channel, self.topology)
        channel.basic_qos(prefetch_count=self._prefetch)
        with self._lock:
            self._generation += 1
            generation = self._generation
            self._connection, self._channel = connection, channel
            self._acked_upto = 0  # delivery tags start at 1 on a new channel
        self.connected.set()

        def deliver(_ch: Any, method: Any, _props: Any, body: bytes) -> None:
            now = time.monotonic()
            if now - self._stamp_t > _STAMP_EVERY_S:
                self._stamp, self._stamp_t = self._clock.now(), now
            topic = topic_from_routing_key(
                method.routing_key, self.topology.topic_prefix
            )
            self._put(
                InboundMessage(
                    topic, body, self._stamp, method.delivery_tag, 1, generation
                )
            )

        channel.basic_consume(self.topology.queue, deliver, auto_ack=False)
        channel.basic_consume(UNROUTABLE_QUEUE, deliver, auto_ack=False)
        self.subscribed.set()
        log.info("amqp consuming %s", self.topology.queue)
        while not self._stop.is_set():
            connection.process_data_events(time_limit=0.2)

    def _drop_connection(self) -> None:
        with self._lock:
            self._generation += 1  # acks for the old channel are void
            connection, self._connection, self._channel = self._connection, None, None
        self.connected.clear()
        self.subscribed.clear()
        if connection is not None and connection.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError, OSError):
                connection.close()

    # -- called by the worker -----------------------------------------------
    def ack(self, messages: Sequence[InboundMessage]) -> int:
        """Ack the committed messages of the current channel; how many."""
        with self._lock:
            current, connection = self._generation, self._connection
            tags = sorted(m.mid for m in messages if m.generation == current)
        if not tags or connection is None:
            return 0

        def send() -> None:  # on the connection's thread
            with self._lock:
                if self._generation != current or self._channel is None:
                    return
                channel = self._channel
            # batches are acked in delivery order: one multiple-ack frame covers a
            # contiguous run that starts right after the last one; else per tag
            if self._acked_upto + 1 == tags[0] and tags[-1] - tags[0] + 1 == len(tags):
                channel.basic_ack(tags[-1], multiple=True)
                self._acked_upto = tags[-1]
            else:
                for tag in tags:
                    channel.basic_ack(tag)
                self._acked_upto = -2  # no longer known: ack per tag on this channel
            self.acked += len(tags)

        try:
            connection.add_callback_threadsafe(send)
        except (pika.exceptions.AMQPError, OSError):
            return 0  # connection gone: the broker redelivers
        return len(tags)

    def stop(self) -> None:
        """Stop consuming and close (unacked deliveries go back to the queue)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


def definitions_json(topology: Topology | None = None) -> str:
    """:func:`topology_definitions` as the text of ``definitions.json``."""
    return json.dumps(topology_definitions(topology), indent=2, sort_keys=True) + "\n"
