"""A standalone ingest worker (``rxdispatch ingest``) with ``API_CLUSTER``: the
holds it places reach the shared dispatch feed, numbered by the database like
every API instance's events, and ask the leader to re-plan."""

from __future__ import annotations

import time

import orjson
import psycopg
from psycopg.rows import dict_row

from api.cli.telemetry import cluster_publisher
from api.cluster.wiring import REPLAN_CHANNEL
from api.services import AppSettings
from api.settings import ApiSettings
from dispatch.events import HoldPlaced
from dispatch.settings import DatabaseSettings


def test_a_hold_from_an_ingest_worker_reaches_the_feed_and_the_leader(
    fresh_db: str,
) -> None:
    """The hold is journaled as an ``alert`` frame under the next ``seq`` and a
    re-plan request is notified; without API_CLUSTER nothing is wired."""
    solo = AppSettings(
        api=ApiSettings(environment="test"),
        database=DatabaseSettings(database_url=fresh_db),
    )
    assert cluster_publisher(solo, fresh_db) == (None, None, None)

    settings = solo.model_copy(
        update={"api": ApiSettings(environment="test", cluster=True)}
    )
    with psycopg.connect(fresh_db, autocommit=True) as leader:
        leader.execute(f"LISTEN {REPLAN_CHANNEL}")
        bus, publisher, _ = cluster_publisher(settings, fresh_db)
        assert bus is not None
        assert publisher is not None
        try:
            publisher.publish(
                HoldPlaced(hold_id=7, order_ids=("o-1",), reason="excursion")
            )
            requests = [
                n.payload
                for n in leader.notifies(timeout=30, stop_after=1)
                if n.channel == REPLAN_CHANNEL
            ]
        finally:
            bus.stop()
    assert [r.split("|", 1)[1] for r in requests] == ["hold.placed"]

    deadline = time.monotonic() + 30
    rows: list[dict[str, object]] = []
    while not rows and time.monotonic() < deadline:
        with (
            psycopg.connect(fresh_db) as conn,
            conn.cursor(row_factory=dict_row) as cur,
        ):
            rows = cur.execute("SELECT seq, frame FROM live.feed_event").fetchall()
        time.sleep(0.1)
    [row] = rows
    frame = orjson.loads(str(row["frame"]))
    assert row["seq"] == 1
    assert frame["seq"] == 1
    assert frame["type"] == "alert"
    assert frame["data"]["kind"] == "hold.placed"
    assert frame["data"]["order_ids"] == ["o-1"]
