"""The patient's link: live feed, rider position only while approaching, expiry
after delivery; OTP submissions are rate limited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.principals import Role
from dispatch.orders import fulfilment
from tests.integration.api.conftest import (
    PASSWORD,
    Credentials,
    api_settings,
    login,
    patient_token,
    services_of,
)
from tests.integration.api.test_order_flow import (
    HOME,
    PHARMACY,
    _assert_no_phi,
    _order_body,
    _seed_catalogue,
)


def _picked_up_order(client: TestClient, creds: Credentials) -> dict[str, Any]:
    _seed_catalogue(client, creds)
    disp = creds(Role.dispatcher)
    order: dict[str, Any] = client.post(
        "/orders", headers={**disp, "Idempotency-Key": "track-0001"}, json=_order_body()
    ).json()
    client.post(
        "/riders",
        headers=disp,
        json={"id": creds.rider_id, "name": "Luca", "vehicle_type": "scooter"},
    )
    with services_of(client).db.transaction() as tx:
        fulfilment.assign_order(tx, order["id"], creds.rider_id, actor="test:planner")
    [lot] = client.get("/pharmacies/ph-1/stock", headers=disp).json()
    client.post(
        f"/orders/{order['id']}/pickup",
        headers=creds(Role.rider),
        json={"scanned_lot_ids": [lot["id"]]},
    ).raise_for_status()
    return order


def _recv(ws: Any, type_: str, limit: int = 100) -> dict[str, Any]:
    for _ in range(limit):
        frame: dict[str, Any] = ws.receive_json()
        if frame["type"] == type_:
            return frame
    raise AssertionError(f"no {type_} frame")


def test_patient_feed_shows_status_eta_and_the_approaching_rider(
    client: TestClient, creds: Credentials
) -> None:
    """Once the rider heads to the patient, the feed carries ETA and that rider's
    position (lat/lon, no rider id); nothing in it names products, the patient
    or the rider."""
    order = _picked_up_order(client, creds)
    with client.websocket_connect(f"/ws/track/{order['tracking_token']}") as patient:
        hello = _recv(patient, "hello")
        assert hello["data"]["heartbeat_s"] > 0
        first = _recv(patient, "tracking.updated")
        assert first["data"]["status"] == "on_the_way"
        with client.websocket_connect("/ws/rider", headers=creds(Role.rider)) as rider:
            route = _recv(rider, "route.updated")["data"]
            assert [s["kind"] for s in route["stops"]] == ["delivery"]
            rider.send_json({"type": "position", "data": {"lat": 35.94, "lon": 14.40}})
            frames = [_recv(patient, "tracking.updated") for _ in range(2)]
    data = {k: v for f in frames for k, v in f["data"].items()}
    assert data["eta_at"]
    assert data["rider_position"] == {"lat": 35.94, "lon": 14.4}
    view = client.get(f"/track/{order['tracking_token']}").json()
    assert view["rider_position"] == {"lat": 35.94, "lon": 14.4}
    seen = str(hello) + str(first) + str(frames)
    _assert_no_phi(seen)
    assert creds.rider_id not in seen
    assert "Luca" not in seen


def test_unknown_tracking_token_closes_the_feed(client: TestClient) -> None:
    """A made-up token is refused on connect."""
    from starlette.websockets import WebSocketDisconnect

    with (
        client.websocket_connect("/ws/track/rxd_trk_" + "x" * 43) as ws,
        pytest.raises(WebSocketDisconnect) as info,
    ):
        ws.receive_json()
    assert info.value.code == 1008


@pytest.fixture
def no_grace_client(fresh_db: str) -> Iterator[TestClient]:
    """Tracking links stop working as soon as the order is delivered."""
    with TestClient(
        create_app(api_settings(fresh_db, tracking_grace_after_delivery_s=0))
    ) as c:
        yield c


def test_link_expires_after_delivery(no_grace_client: TestClient) -> None:
    """After delivery (grace 0) the link answers 404 like an unknown one."""
    client = no_grace_client
    services = services_of(client)
    headers = {}
    for role in (Role.admin, Role.dispatcher, Role.pharmacist):
        services.auth.add_user(username=f"{role.value}-1", password=PASSWORD, role=role)
        headers[role] = login(client, f"{role.value}-1")
    headers[Role.rider] = {
        "Authorization": "Bearer "
        + services.auth.issue_device_token(rider_id="rider-1")
    }
    creds = Credentials(headers=headers, rider_id="rider-1")
    order = _picked_up_order(client, creds)
    token = patient_token(client, order["id"])
    [msg] = client.get(f"/track/{token}/messages").json()
    match = re.search(r"\d{4,8}", msg["body"])
    assert match is not None
    client.post(
        f"/orders/{order['id']}/delivery",
        headers=creds(Role.rider),
        json={"otp": match.group(0), "position": HOME},
    ).raise_for_status()
    services.publisher.close()  # finish the queued link closing
    assert client.get(f"/track/{token}").status_code == 404
    link = services.auth.tracking_link(token)
    assert link is not None
    assert link.closed_at is not None
    assert link.closed_at <= datetime.now(UTC)


def test_otp_submissions_are_rate_limited(
    client: TestClient, creds: Credentials
) -> None:
    """Beyond the per-minute budget the rider gets 429 before any check runs."""
    order = _picked_up_order(client, creds)
    limit = services_of(client).settings.api.otp_attempts_per_min
    codes = []
    for _ in range(limit + 1):
        r = client.post(
            f"/orders/{order['id']}/delivery",
            headers=creds(Role.rider),
            json={"otp": "000000", "position": PHARMACY},
        )
        codes.append(r.status_code)
    assert codes[-1] == 429
    assert 429 not in codes[:limit]
