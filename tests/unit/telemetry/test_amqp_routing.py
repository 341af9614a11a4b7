"""The AMQP transport's pure parts: routing keys back to topics, the topology."""

from __future__ import annotations

from pathlib import Path

import pytest

from telemetry.amqp import (
    EXCHANGE,
    QUEUE,
    UNROUTABLE_EXCHANGE,
    Topology,
    definitions_json,
    topic_from_routing_key,
    topology_definitions,
)
from telemetry.topics import box_id_from_topic

SHIPPED = Path(__file__).resolve().parents[3] / "deploy" / "rabbitmq"


@pytest.mark.parametrize("box", ["box-0001", "rig.2", "a.b.c", "x"])
def test_routing_key_gives_back_the_box_topic(box: str) -> None:
    """The plugin turns '/' into '.' and keeps dots inside a box id: the box is
    everything between the prefix and '.telemetry'."""
    key = f"rxdispatch.v1.boxes.{box}.telemetry"
    topic = topic_from_routing_key(key, "rxdispatch/v1")
    assert topic == f"rxdispatch/v1/boxes/{box}/telemetry"
    assert box_id_from_topic(topic) == box


@pytest.mark.parametrize(
    "key",
    [
        "rxdispatch.v2.boxes.a.telemetry",
        "rxdispatch.v1.boxes.telemetry",
        "rxdispatch.v1.boxes.a.status",
        "other",
    ],
)
def test_other_routing_keys_stay_unknown_topics(key: str) -> None:
    assert topic_from_routing_key(key, "rxdispatch/v1") == key


def test_topology_binds_dotted_ids_and_catches_the_unroutable() -> None:
    doc = topology_definitions(Topology("rxd-test/v1", delivery_limit=7))
    queue = next(q for q in doc["queues"] if q["name"] == QUEUE)
    assert queue["arguments"]["x-queue-type"] == "quorum"
    assert queue["arguments"]["x-delivery-limit"] == 7
    assert "x-dead-letter-exchange" in queue["arguments"]
    binding = next(
        b
        for b in doc["bindings"]
        if b["destination"] == QUEUE and b["destination_type"] == "queue"
    )
    assert binding["routing_key"] == "rxd-test.v1.boxes.#"
    exchange = next(e for e in doc["exchanges"] if e["name"] == EXCHANGE)
    assert exchange["arguments"] == {"alternate-exchange": UNROUTABLE_EXCHANGE}


def test_shipped_definitions_are_the_declared_topology() -> None:
    """deploy/rabbitmq/definitions.json is what the workers declare (no drift)."""
    assert (SHIPPED / "definitions.json").read_text() == definitions_json()
