"""The closed loop through the API: an order is planned by the running
re-planner, the dispatcher feed hears ``plan.updated``, the rider's feed gets
the new route, and the plan endpoints show it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.principals import Role
from tests.integration.api.conftest import PASSWORD, api_settings, login, services_of
from tests.integration.api.test_order_flow import HOME, PHARMACY, _order_body


@pytest.fixture
def planning_client(fresh_db: str) -> Iterator[TestClient]:
    """An app with the re-planner running (short debounce and solver budget)."""
    settings = api_settings(fresh_db, run_replanner=True)
    settings.dispatch.replan_debounce_s = 0.2
    settings.dispatch.solver_time_limit_s = 1.0
    with TestClient(create_app(settings)) as c:
        yield c


def _recv_until(
    ws: Any,
    type_: str,
    accept: Callable[[dict[str, Any]], bool] = lambda d: True,
    limit: int = 500,
) -> dict[str, Any]:
    for _ in range(limit):
        frame: dict[str, Any] = ws.receive_json()
        if frame["type"] == type_ and accept(frame["data"]):
            return frame
    raise AssertionError(f"no matching {type_} frame")


def test_an_order_is_planned_and_pushed_live(planning_client: TestClient) -> None:
    """New order -> re-plan -> assigned to the on-shift rider; feeds updated."""
    client = planning_client
    services = services_of(client)
    for role in (Role.dispatcher, Role.pharmacist):
        services.auth.add_user(username=f"{role.value}-1", password=PASSWORD, role=role)
    disp, ph = login(client, "dispatcher-1"), login(client, "pharmacist-1")
    client.post(
        "/pharmacies",
        headers=ph,
        json={
            "id": "ph-1",
            "name": "Valletta",
            "location": PHARMACY,
            "licence_number": "L1",
        },
    ).raise_for_status()
    client.post(
        "/products", headers=ph, json={"sku": "SKU-INS-100", "name": "Insulin"}
    ).raise_for_status()
    expiry = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
    client.post(
        "/pharmacies/ph-1/stock",
        headers=ph,
        json={
            "sku": "SKU-INS-100",
            "lot_number": "LOT-1",
            "expiry_date": expiry,
            "quantity": 10,
        },
    ).raise_for_status()
    client.post(
        "/riders",
        headers=disp,
        json={"id": "rider-1", "name": "Luca", "vehicle_type": "scooter"},
    ).raise_for_status()
    rider = {
        "Authorization": "Bearer "
        + services.auth.issue_device_token(rider_id="rider-1")
    }
    client.post(
        "/riders/me/shift/start",
        headers=rider,
        json={
            "ends_at": (datetime.now(UTC) + timedelta(hours=8)).isoformat(),
            "position": HOME,
        },
    ).raise_for_status()

    with (
        client.websocket_connect("/ws/dispatch", headers=disp) as feed,
        client.websocket_connect("/ws/rider", headers=rider) as rider_ws,
    ):
        _recv_until(rider_ws, "route.updated")
        order = client.post(
            "/orders",
            headers={**disp, "Idempotency-Key": "plan-0001"},
            json=_order_body(),
        ).json()
        plan_event = _recv_until(feed, "plan.updated", lambda d: d["assigned"] >= 1)
        route = _recv_until(rider_ws, "route.updated", lambda d: bool(d["stops"]))[
            "data"
        ]
    assert plan_event["data"]["unassigned"] == 0
    assert [(s["kind"], s["order_id"]) for s in route["stops"]] == [
        ("pickup", order["id"]),
        ("delivery", order["id"]),
    ]
    assert all(s["eta_at"] for s in route["stops"])

    deadline = time.monotonic() + 30
    status = client.get(f"/orders/{order['id']}", headers=disp).json()["status"]
    while status != "assigned" and time.monotonic() < deadline:
        time.sleep(0.2)
        status = client.get(f"/orders/{order['id']}", headers=disp).json()["status"]
    assert status == "assigned"
    plan = client.get("/plans/current", headers=disp).json()
    [planned] = [r for r in plan["routes"] if r["rider_id"] == "rider-1"]
    assert [s["kind"] for s in planned["stops"]] == ["pickup", "delivery"]
    mine = client.get("/plans/current/riders/rider-1", headers=disp).json()
    assert mine["stops"] == planned["stops"]
