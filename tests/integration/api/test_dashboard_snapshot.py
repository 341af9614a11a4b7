"""The dashboard snapshot and the sequenced dispatch feed: a client loads the
snapshot, subscribes with its ``seq``, and gets every later frame exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from api.auth.principals import Role
from dispatch.adapters.postgres import plans as plans_repo
from dispatch.holds.commands import place_hold
from dispatch.planning.plan import Plan, UnservableOrder
from tests.integration.api.conftest import Credentials, services_of
from tests.integration.api.test_order_flow import PATIENT, _order_body, _seed_catalogue

KEY = 0


def _order(client: TestClient, creds: Credentials) -> str:
    global KEY
    KEY += 1
    r = client.post(
        "/orders",
        headers={**creds(Role.dispatcher), "Idempotency-Key": f"dash-{KEY:06d}"},
        json=_order_body(quantity=1),
    )
    assert r.status_code == 201, r.text
    order_id: str = r.json()["id"]
    return order_id


def _snapshot(client: TestClient, creds: Credentials) -> dict[str, Any]:
    r = client.get("/dashboard/snapshot", headers=creds(Role.dispatcher))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _feed(
    client: TestClient, creds: Credentials, query: str = ""
) -> WebSocketTestSession:
    token = creds(Role.dispatcher)["Authorization"].split()[1]
    sep = "&" if query else ""
    return client.websocket_connect(f"/ws/dispatch?{query}{sep}access_token={token}")


def _events_until(ws: WebSocketTestSession, seq: int) -> list[dict[str, Any]]:
    """Frames received up to the event frame numbered ``seq`` (events only)."""
    events: list[dict[str, Any]] = []
    while not events or events[-1]["seq"] < seq:
        frame = ws.receive_json()
        assert "seq" in frame, frame
        if frame["type"] not in ("positions", "heartbeat", "pong", "hello"):
            events.append(frame)
    return events


def test_the_snapshot_lists_riders_orders_plan_and_open_alerts(
    client: TestClient, creds: Credentials
) -> None:
    """Riders, orders in flight, the plan's numbers and open alerts (hold,
    excursion, unassignable order) with stable alert ids; delivered orders and
    orders the plan no longer concerns are left out."""
    _seed_catalogue(client, creds)
    disp = creds(Role.dispatcher)
    for rider in ("rider-1", "rider-2"):
        r = client.post(
            "/riders",
            headers=disp,
            json={"id": rider, "name": rider, "vehicle_type": "bike"},
        )
        assert r.status_code == 201, r.text
    held, stuck, fine = (_order(client, creds) for _ in range(3))
    services = services_of(client)
    now = datetime.now(UTC)
    with services.db.transaction() as tx:
        hold_id = place_hold(
            tx, reason="damaged", actor="pharmacist", order_ids=[held]
        ).id
        plans_repo.insert_plan(
            tx,
            Plan(
                3,
                now,
                "feasible",
                7,
                0.2,
                (),
                (UnservableOrder(stuck, "time_window", "too late"),),
            ),
        )
        tx.conn.execute(
            "INSERT INTO telemetry.excursion (box_id, kind, rule, started_at,"
            " alarmed_at, detected_at) VALUES ('box-9', 'temperature_high',"
            " 'single_event', %s, %s, %s)",
            (now - timedelta(minutes=5), now, now),
        )
    snap = _snapshot(client, creds)
    feed_id, seq = services.hub.feed_position()
    assert (snap["feed_id"], snap["seq"]) == (feed_id, seq)
    assert seq >= 3  # at least the three order.placed frames
    assert {r["id"] for r in snap["riders"]} == {"rider-1", "rider-2"}
    assert {o["id"] for o in snap["orders"]} == {held, stuck, fine}
    assert PATIENT["phone"] not in str(snap)
    assert "Camilleri" not in str(snap)
    assert snap["plan"] == {
        "version": 3,
        "created_at": snap["plan"]["created_at"],
        "status": "feasible",
        "cost": 7,
        "routes": 0,
        "planned_orders": 0,
        "unassigned_orders": 1,
    }
    alerts = {a["alert_id"]: a for a in snap["alerts"]}
    [excursion_id] = [k for k in alerts if k.startswith("excursion.opened:")]
    assert set(alerts) == {
        f"hold.placed:{hold_id}",
        excursion_id,
        f"order.unassignable:{stuck}",
    }
    assert alerts[f"hold.placed:{hold_id}"]["order_ids"] == [held]
    assert alerts[f"order.unassignable:{stuck}"]["reason"] == "time_window"
    assert alerts[excursion_id]["box_id"] == "box-9"


@pytest.mark.parametrize("caller", [None, Role.rider, Role.pharmacist])
def test_only_dispatchers_get_the_snapshot(
    client: TestClient, creds: Credentials, caller: Role | None
) -> None:
    """401 without credentials, 403 for other roles, as problem+json."""
    headers = {} if caller is None else creds(caller)
    r = client.get("/dashboard/snapshot", headers=headers)
    assert r.status_code == (401 if caller is None else 403)
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] in ("unauthenticated", "forbidden")


def test_a_frame_published_between_snapshot_and_subscribe_is_applied_once(
    client: TestClient, creds: Credentials
) -> None:
    """Snapshot at S; an order placed before subscribing is replayed after the
    hello; live frames follow; every event seq above S arrives once, in order,
    with no gap; the order placed before the snapshot is in it, not replayed."""
    _seed_catalogue(client, creds)
    before = _order(client, creds)
    snap = _snapshot(client, creds)
    assert before in {o["id"] for o in snap["orders"]}
    between = _order(client, creds)  # published after the snapshot
    services = services_of(client)
    _, published = services.hub.feed_position()
    assert published > snap["seq"]
    with _feed(client, creds, f"since={snap['seq']}&feed_id={snap['feed_id']}") as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello"
        assert hello["seq"] == snap["seq"]
        assert hello["data"]["resync"] is None
        assert hello["data"]["feed_id"] == snap["feed_id"]
        assert hello["data"]["replayed"] == published - snap["seq"]
        replayed = _events_until(ws, published)
        after = _order(client, creds)
        _, last = services.hub.feed_position()
        live = _events_until(ws, last)
    seqs = [f["seq"] for f in replayed + live]
    assert seqs == list(range(snap["seq"] + 1, last + 1))
    placed = [
        f["data"]["order_id"] for f in replayed + live if f["type"] == "order.placed"
    ]
    assert placed == [between, after]


def test_a_feed_it_cannot_replay_asks_for_a_resync(
    client: TestClient, creds: Credentials
) -> None:
    """Another process's feed id: hello says ``unknown_feed`` and the feed goes
    on from now; a malformed ``since`` closes with 1008."""
    with _feed(client, creds, "since=0&feed_id=0000000000000000") as ws:
        hello = ws.receive_json()
        assert hello["data"]["resync"] == "unknown_feed"
        assert hello["data"]["seq"] == services_of(client).hub.feed_position()[1]
    for bad in ("since=-1", "since=abc", "since=" + "9" * 30):
        with _feed(client, creds, bad) as ws, pytest.raises(WebSocketDisconnect) as exc:
            ws.receive_json()
        assert exc.value.code == 1008
