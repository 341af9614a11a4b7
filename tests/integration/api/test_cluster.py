"""Two ``serve`` processes on one database behave as one (``API_CLUSTER``).

Each instance is a uvicorn process of its own (:mod:`tests.integration.api.instances`):
events caused on one reach the dispatchers connected to the other in one
gap-free sequence, a device token revoked on one is refused by the other, and
the re-planner's leader can be SIGKILLed mid-burst: the other instance takes over
and every order ends planned exactly once.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row
from websockets.sync.client import connect

from tests.integration.api.instances import (
    VALLETTA,
    Instance,
    add_rider,
    cluster,
    place_order,
    seed_city,
    start_shifts,
    wait_until,
)

#: frames that are not feed events (they repeat the last event's seq)
NOT_EVENTS = frozenset({"hello", "heartbeat", "positions", "pong"})


def _feed(instance: Instance, since: int, feed_id: str) -> Any:
    return connect(
        f"{instance.ws_url}/ws/dispatch?since={since}&feed_id={feed_id}",
        additional_headers=instance.admin(),
        open_timeout=30,
    )


def _read_until(ws: Any, done: Any, timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """Every frame until ``done(frames)`` holds."""
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while not done(frames):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"feed incomplete: {[f['type'] for f in frames]}"
        frames.append(json.loads(ws.recv(timeout=remaining)))
    return frames


def test_events_cross_instances_in_one_sequence(fresh_db: str, tmp_path: Path) -> None:
    """A snapshot read on B and a feed opened on A (and on B) from its ``seq``:
    orders placed on both instances and a rider's fix posted to B reach both
    feeds, with the same frames under the same gap-free, duplicate-free ``seq``."""
    with cluster(fresh_db, tmp_path, API_RUN_REPLANNER="false") as (a, b):
        seed_city(a)
        snapshot = b.ok("GET", "/dashboard/snapshot", headers=b.admin())
        other = a.ok("GET", "/dashboard/snapshot", headers=a.admin())
        assert other["feed_id"] == snapshot["feed_id"]  # one feed, the database's
        since, feed_id = snapshot["seq"], snapshot["feed_id"]
        with _feed(a, since, feed_id) as on_a, _feed(b, since, feed_id) as on_b:
            hellos = [json.loads(ws.recv(timeout=30)) for ws in (on_a, on_b)]
            assert [h["data"]["resync"] for h in hellos] == [None, None]
            orders = [place_order((b, a)[n % 2], n) for n in range(6)]
            rider = start_shifts(a, ("rider-1",))["rider-1"]
            b.ok(
                "POST",
                "/riders/me/position",
                headers=rider,
                json={"lat": VALLETTA["lat"] + 0.001, "lon": VALLETTA["lon"]},
            )

            def complete(frames: list[dict[str, Any]]) -> bool:
                placed = {
                    f["data"]["order_id"] for f in frames if f["type"] == "order.placed"
                }
                moved = any(
                    p["rider_id"] == "rider-1"
                    for f in frames
                    if f["type"] == "positions"
                    for p in f["data"]
                )
                return placed >= set(orders) and moved

            seen_a = _read_until(on_a, complete)
            seen_b = _read_until(on_b, complete)

    events_a = [f for f in seen_a if f["type"] not in NOT_EVENTS]
    events_b = [f for f in seen_b if f["type"] not in NOT_EVENTS]
    seqs = [f["seq"] for f in events_a]
    assert seqs == list(range(since + 1, since + 1 + len(seqs)))
    shared = min(len(events_a), len(events_b))
    assert events_a[:shared] == events_b[:shared]
    placed = [f["data"]["order_id"] for f in events_a if f["type"] == "order.placed"]
    assert placed == orders  # in the order they were placed, on either instance


def test_revocations_and_login_limits_hold_across_instances(
    fresh_db: str, tmp_path: Path
) -> None:
    """B caches the rider's device token for five minutes; revoked on A, B
    refuses it at once (the revocation crosses the bus), not when its cache
    expires. Wrong passwords alternating between A and B meet one limit of 4:
    with a limiter per instance the ninth attempt would be the first refused."""
    with cluster(
        fresh_db,
        tmp_path,
        API_RUN_REPLANNER="false",
        API_DEVICE_TOKEN_CACHE_S="300",
        API_LOGIN_ATTEMPTS_PER_MIN="4",
    ) as (a, b):
        rider = add_rider(a, "rider-1")
        assert b.http.get("/riders/me/route", headers=rider).status_code == 200
        a.ok("DELETE", "/riders/rider-1/device-tokens", headers=a.admin())
        assert a.http.get("/riders/me/route", headers=rider).status_code == 401
        wait_until(
            "B to refuse the revoked token",
            lambda: b.http.get("/riders/me/route", headers=rider).status_code == 401,
            timeout_s=30,
        )

        answers = []
        for attempt in range(10):
            r = (a, b)[attempt % 2].http.post(
                "/auth/token", json={"username": "mallory", "password": "guess-1234"}
            )
            answers.append(r.status_code)
            if r.status_code == 429:
                break
    assert answers[-1] == 429
    assert set(answers[:-1]) == {401}
    assert len(answers) <= 5  # at most 4 counted failures, on both instances


def _stops(phones: list[Any]) -> bool:
    """Whether a ``route.updated`` with stops arrived on any phone (reads what
    is there, waiting a little)."""
    for phone in phones:
        try:
            while True:
                frame = json.loads(phone.recv(timeout=0.2))
                if frame["type"] == "route.updated" and frame["data"]["stops"]:
                    return True
        except TimeoutError:
            continue
    return False


def _plans(database_url: str) -> list[dict[str, Any]]:
    with (
        psycopg.connect(database_url) as conn,
        conn.cursor(row_factory=dict_row) as cur,
    ):
        return cur.execute(
            "SELECT version, routes, unassigned FROM dispatch.plan ORDER BY version"
        ).fetchall()


def _orders(database_url: str) -> dict[str, dict[str, Any]]:
    with (
        psycopg.connect(database_url) as conn,
        conn.cursor(row_factory=dict_row) as cur,
    ):
        rows = cur.execute(
            "SELECT id::text AS id, status, rider_id FROM dispatch.customer_order"
        ).fetchall()
    return {row["id"]: row for row in rows}


def _deliveries(plan: dict[str, Any]) -> list[tuple[str, str]]:
    """(order id, rider id) of every delivery stop of a plan."""
    return [
        (stop["order_id"], route["rider_id"])
        for route in plan["routes"]
        for stop in route["stops"]
        if stop["kind"] == "delivery"
    ]


def test_the_leader_is_killed_mid_burst_and_every_order_is_planned_once(
    fresh_db: str, tmp_path: Path
) -> None:
    """One instance leads re-planning, the other follows. Orders arrive on both;
    the leader is SIGKILLed (with its solver worker) in the middle of the burst
    and the rest arrive on the survivor, which takes the lease within seconds.
    In the end the plan versions are one unbroken sequence and the latest plan
    delivers every order exactly once, on the rider the order is assigned to."""
    with cluster(fresh_db, tmp_path) as instances:
        a, b = instances
        seed_city(a)
        devices = start_shifts(b, ("rider-1", "rider-2"))
        leader = wait_until(
            "a leader",
            lambda: next((i for i in instances if i.role() == "leader"), None),
        )
        survivor = b if leader is a else a
        assert survivor.role() == "follower"

        # the riders' phones are connected to the follower: the leader's plan
        # reaches them as a route with stops, rebuilt there
        phones = [
            connect(
                f"{survivor.ws_url}/ws/rider",
                additional_headers=devices[rider_id],
                open_timeout=30,
            )
            for rider_id in ("rider-1", "rider-2")
        ]
        orders = [place_order(instances[n % 2], n) for n in range(6)]
        wait_until("a first plan", lambda: _plans(fresh_db))
        wait_until("a route with stops on the follower", lambda: _stops(phones))
        for phone in phones:
            phone.close()
        orders += [place_order(survivor, n) for n in range(6, 8)]
        leader.kill()
        killed_at = time.monotonic()
        orders += [place_order(survivor, n) for n in range(8, 12)]
        wait_until("the survivor to lead", lambda: survivor.role() == "leader", 30)
        took_over_s = time.monotonic() - killed_at

        def all_planned() -> bool:
            plans = _plans(fresh_db)
            return bool(plans) and {o for o, _ in _deliveries(plans[-1])} >= set(orders)

        wait_until("every order in the latest plan", all_planned, timeout_s=120)
        ready = survivor.ok("GET", "/health/ready")

    plans = _plans(fresh_db)
    assert [p["version"] for p in plans] == list(range(1, len(plans) + 1))
    deliveries = _deliveries(plans[-1])
    assert sorted(o for o, _ in deliveries) == sorted(orders)  # each exactly once
    assert not plans[-1]["unassigned"]
    stored = _orders(fresh_db)
    assert set(stored) == set(orders)  # none lost, none made twice
    for order_id, rider_id in deliveries:
        assert stored[order_id]["status"] == "assigned"
        assert stored[order_id]["rider_id"] == rider_id
    assert ready["replanner_role"] == "leader"
    print(f"takeover after SIGKILL: {took_over_s:.1f} s")  # noqa: T201
