"""Live channels with real clients: TestClient websockets and a real uvicorn."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC
from typing import Any

import orjson
import pytest
import websockets
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from api.auth.principals import Role
from api.live.geofence import FenceKind
from api.live.hub import DISPATCH_TOPIC
from api.live.tracker import RouteStop
from tests.integration.api.conftest import WAIT_S, Credentials, services_of


def _recv_until(ws: Any, type_: str, limit: int = 50) -> dict[str, Any]:
    for _ in range(limit):
        frame: dict[str, Any] = ws.receive_json()
        if frame["type"] == type_:
            return frame
    raise AssertionError(f"no {type_} frame")


def test_connect_without_credentials_is_closed_with_1008(client: TestClient) -> None:
    """An unauthenticated websocket is accepted then closed with policy violation."""
    with (
        client.websocket_connect("/ws/dispatch") as ws,
        pytest.raises(WebSocketDisconnect) as info,
    ):
        ws.receive_json()
    assert info.value.code == 1008


def test_a_rider_cannot_open_the_dispatch_feed(
    client: TestClient, creds: Credentials
) -> None:
    """Role checks apply on connect."""
    with (
        client.websocket_connect("/ws/dispatch", headers=creds(Role.rider)) as ws,
        pytest.raises(WebSocketDisconnect) as info,
    ):
        ws.receive_json()
    assert info.value.code == 1008


def test_rider_position_reaches_the_dispatcher(
    client: TestClient, creds: Credentials
) -> None:
    """A position sent on /ws/rider arrives in a positions frame on /ws/dispatch."""
    with client.websocket_connect(
        "/ws/dispatch", headers=creds(Role.dispatcher)
    ) as disp:
        assert disp.receive_json()["type"] == "hello"
        with client.websocket_connect("/ws/rider", headers=creds(Role.rider)) as rider:
            hello = rider.receive_json()
            assert hello["data"]["subject_id"] == creds.rider_id
            rider.send_json(
                {
                    "type": "position",
                    "data": {"lat": 35.9, "lon": 14.5, "client_ts_ms": 7},
                }
            )
            frame = _recv_until(disp, "positions")
    [pos] = frame["data"]
    assert pos["rider_id"] == creds.rider_id
    assert (pos["lat"], pos["lon"], pos["client_ts_ms"]) == (35.9, 14.5, 7)
    assert frame["v"] == 1


def test_bad_client_messages_get_an_error_and_the_socket_stays_open(
    client: TestClient, creds: Credentials
) -> None:
    """Malformed JSON and invalid positions answer ``error``; ping still works."""
    with client.websocket_connect(
        f"/ws/rider?access_token={creds(Role.rider)['Authorization'][7:]}"
    ) as ws:
        ws.receive_json()
        ws.send_text("{not json")
        assert _recv_until(ws, "error")["data"]["code"] == "malformed_json"
        ws.send_json({"type": "position", "data": {"lat": 123, "lon": 0}})
        assert _recv_until(ws, "error")["data"]["code"] == "invalid_position"
        ws.send_json({"type": "ping", "data": 1})
        assert _recv_until(ws, "pong")["data"] == 1


def test_arrival_at_a_stop_is_pushed_recorded_and_pins_the_eta(
    client: TestClient, creds: Credentials
) -> None:
    """Dwelling inside a delivery fence emits one ``geofence`` arrival, stores it,
    and the stop's ETA becomes the arrival time."""
    services = services_of(client)
    services.geofences.dwell_s = 0
    stop = RouteStop("stop-1", FenceKind.delivery, "order-1", 35.9, 14.5)
    with client.websocket_connect("/ws/rider", headers=creds(Role.rider)) as ws:
        ws.receive_json()
        assert _recv_until(ws, "route.updated")["data"]["stops"] == []
        services.hub.call_on_loop(services.live.set_route, creds.rider_id, [stop])
        ws.send_json({"type": "position", "data": {"lat": 35.94, "lon": 14.4}})
        far_eta = _recv_until(ws, "eta.updated")["data"]["etas"][0]["eta_at"]
        arrived_at = services.clock.now().astimezone(UTC).replace(microsecond=0)
        at = arrived_at.isoformat()
        ws.send_json({"type": "position", "data": {"lat": 35.9, "lon": 14.5, "at": at}})
        fence = _recv_until(ws, "geofence")["data"]
        eta = _recv_until(ws, "eta.updated")["data"]["etas"][0]["eta_at"]
    assert fence["transition"] == "arrived"
    assert fence["order_id"] == "order-1"
    assert eta.startswith(arrived_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert eta != far_eta
    deadline = time.monotonic() + WAIT_S  # the arrival is stored in the background
    while not services.fence_events.events_of(creds.rider_id):
        assert time.monotonic() < deadline, "the arrival was not stored"
        time.sleep(0.1)
    [row] = services.fence_events.events_of(creds.rider_id)
    assert row["transition"] == "arrived"


def test_hub_events_reach_the_dispatch_feed(
    client: TestClient, creds: Credentials
) -> None:
    """An event published on the dispatch topic from another thread arrives."""
    hub = services_of(client).hub
    with client.websocket_connect("/ws/dispatch", headers=creds(Role.admin)) as ws:
        ws.receive_json()
        t = threading.Thread(
            target=hub.publish, args=(DISPATCH_TOPIC, "alert", {"code": "x"})
        )
        t.start()
        t.join()
        assert _recv_until(ws, "alert")["data"] == {"code": "x"}


def test_real_server_heartbeats_and_fan_out_with_websockets_library(server) -> None:
    """Against real uvicorn: heartbeat envelopes arrive; a rider fix reaches two
    dispatchers."""
    host, app = server
    services = app.state.services
    services.auth.add_user(username="disp", password="p" * 12, role=Role.dispatcher)
    rider_token = services.auth.issue_device_token(rider_id="r-9")

    async def run() -> tuple[list[str], list[list[dict[str, Any]]]]:
        import httpx

        async with httpx.AsyncClient(base_url=f"http://{host}") as http:
            r = await http.post(
                "/auth/token", json={"username": "disp", "password": "p" * 12}
            )
            bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
        d1 = await websockets.connect(
            f"ws://{host}/ws/dispatch", additional_headers=bearer
        )
        d2 = await websockets.connect(
            f"ws://{host}/ws/dispatch", additional_headers=bearer
        )
        types = []
        for _ in range(3):
            types.append(orjson.loads(await d1.recv())["type"])
        # d2's hello: the server has subscribed it (it does so after the
        # handshake), so the rider's fix below cannot miss it
        hello = orjson.loads(await asyncio.wait_for(d2.recv(), WAIT_S))
        assert hello["type"] == "hello"
        rider = await websockets.connect(
            f"ws://{host}/ws/rider",
            additional_headers={"Authorization": f"Bearer {rider_token}"},
        )
        await rider.send(
            orjson.dumps(
                {"type": "position", "data": {"lat": 35.85, "lon": 14.45}}
            ).decode()
        )
        got = []
        for ws in (d1, d2):
            while True:
                frame = orjson.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
                if frame["type"] == "positions":
                    got.append(frame["data"])
                    break
        for ws in (rider, d1, d2):
            await ws.close()
        return types, got

    types, got = asyncio.run(run())
    assert types[0] == "hello"
    assert "heartbeat" in types[1:]
    assert all(batch[-1]["rider_id"] == "r-9" for batch in got)
    assert len(got) == 2
