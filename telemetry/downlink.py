"""Server -> logger messages: resend requests on ``<prefix>/boxes/<box>/resend``.

Two publishers, one per transport: :class:`MqttDownlink` (its own paho
connection, QoS 1, to Mosquitto or the embedded broker) and
:class:`AmqpDownlink` (publishes to RabbitMQ's ``amq.topic``, from which the
MQTT plugin delivers it to the box's MQTT subscription). A publish that fails
is logged and retried by the audit's next request (bounded).
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
from typing import Protocol

import paho.mqtt.client as mqtt
import pika

from telemetry.mqtt import parse_mqtt_url
from telemetry.topics import resend_topic

__all__ = [
    "AmqpDownlink",
    "Downlink",
    "MqttDownlink",
    "amqp_routing_key",
    "resend_payload",
]

log = logging.getLogger(__name__)


class Downlink(Protocol):
    """Publishes resend requests to loggers."""

    def request_resend(self, box_id: str, from_seq: int, to_seq: int) -> bool:
        """Send ``{from_seq, to_seq}`` to the box; False if it could not be sent."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


def resend_payload(from_seq: int, to_seq: int) -> bytes:
    return json.dumps({"from_seq": from_seq, "to_seq": to_seq}).encode()


def amqp_routing_key(topic: str) -> str:
    """The routing key RabbitMQ's MQTT plugin uses for ``topic``: ``/`` becomes
    ``.`` (as ``telemetry.amqp.topic_from_routing_key`` reads it back)."""
    return topic.replace("/", ".")


class MqttDownlink:
    """A clean-session paho client that only publishes (QoS 1)."""

    def __init__(
        self,
        url: str,
        *,
        client_id: str,
        topic_prefix: str,
        ca_file: str | None = None,
    ) -> None:
        address = parse_mqtt_url(url)
        self._prefix = topic_prefix
        client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=True,
            protocol=mqtt.MQTTv311,
        )
        if address.username:
            client.username_pw_set(address.username, address.password)
        if address.tls:
            client.tls_set(ca_certs=ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.reconnect_delay_set(min_delay=1, max_delay=5)
        self._client = client
        self._host, self._port = address.host, address.port
        self.sent = 0

    def start(self) -> None:
        self._client.connect_async(self._host, self._port, keepalive=30)
        self._client.loop_start()

    def request_resend(self, box_id: str, from_seq: int, to_seq: int) -> bool:
        info = self._client.publish(
            resend_topic(box_id, self._prefix),
            resend_payload(from_seq, to_seq),
            qos=1,
        )
        if info.rc != mqtt.MQTT_ERR_SUCCESS and info.rc != mqtt.MQTT_ERR_NO_CONN:
            log.warning("resend request not queued: rc=%s", info.rc)
            return False
        self.sent += 1  # paho queues it while reconnecting
        return True

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


class AmqpDownlink:
    """Publishes resend requests to ``amq.topic`` over its own AMQP connection
    (opened on demand; pika's blocking connection is used from one thread)."""

    def __init__(
        self, url: str, *, topic_prefix: str, ca_file: str | None = None
    ) -> None:
        self._urls = [u.strip() for u in url.split(",") if u.strip()]
        self._ca_file = ca_file
        self._prefix = topic_prefix
        self._lock = threading.Lock()
        self._connection: pika.BlockingConnection | None = None
        self.sent = 0

    def start(self) -> None:
        """Nothing to do: the connection opens with the first request."""

    def _channel(self) -> pika.adapters.blocking_connection.BlockingChannel:
        if self._connection is None or self._connection.is_closed:
            last: Exception | None = None
            for url in self._urls:
                params = pika.URLParameters(url)
                if url.startswith("amqps://"):
                    context = ssl.create_default_context(cafile=self._ca_file)
                    params.ssl_options = pika.SSLOptions(context, params.host)
                params.connection_attempts = 1
                params.socket_timeout = 5
                try:
                    self._connection = pika.BlockingConnection(params)
                    break
                except pika.exceptions.AMQPError as exc:
                    last = exc
            else:
                raise last or pika.exceptions.AMQPConnectionError("no AMQP URL")
        assert self._connection is not None  # noqa: S101
        return self._connection.channel()

    def request_resend(self, box_id: str, from_seq: int, to_seq: int) -> bool:
        topic = resend_topic(box_id, self._prefix)
        with self._lock:
            try:
                channel = self._channel()
                channel.basic_publish(
                    "amq.topic",
                    amqp_routing_key(topic),
                    resend_payload(from_seq, to_seq),
                    pika.BasicProperties(delivery_mode=2),
                )
                channel.close()
            except (pika.exceptions.AMQPError, OSError) as exc:
                log.warning("resend request not sent: %s", type(exc).__name__)
                self._connection = None
                return False
        self.sent += 1
        return True

    def stop(self) -> None:
        with self._lock:
            if self._connection is not None and self._connection.is_open:
                self._connection.close()
            self._connection = None
