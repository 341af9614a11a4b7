"""The real services the suite depends on are reachable and usable."""

from __future__ import annotations

import threading

import psycopg

from dispatch.adapters.postgres.database import migrate
from tests.mqtt_clients import connected_client


def test_fresh_db_is_migrated_and_writable(fresh_db: str) -> None:
    """A fresh database accepts a write and records Alembic versions."""
    migrate(fresh_db)  # idempotent on an up-to-date database
    with psycopg.connect(fresh_db) as conn:
        conn.execute("CREATE TEMP TABLE t (x int)")
        conn.execute("INSERT INTO t VALUES (1)")
        row = conn.execute("SELECT count(*) FROM t").fetchone()
    assert row == (1,)


def test_broker_round_trips_a_qos1_message(mqtt_url: str, unique_id: str) -> None:
    """A QoS 1 message published to the broker reaches a subscriber."""
    topic = f"rxd-test/{unique_id}/ping"
    got = threading.Event()
    sub = connected_client(mqtt_url, client_id=f"s-{unique_id}")
    sub.on_message = lambda c, u, m: got.set()
    sub.subscribe(topic, qos=1)
    sub.loop_start()
    pub = connected_client(mqtt_url, client_id=f"p-{unique_id}")
    pub.loop_start()
    try:
        for _ in range(20):
            pub.publish(topic, b"ping", qos=1).wait_for_publish(5)
            if got.wait(0.5):
                break
        assert got.is_set()
    finally:
        pub.loop_stop()
        sub.loop_stop()
        pub.disconnect()
        sub.disconnect()
