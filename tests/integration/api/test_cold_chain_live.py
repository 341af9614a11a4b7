"""The cold-chain loop through the running app: MQTT readings out of range ->
excursion -> the carried order on hold (alert on the dispatch feed, "delayed"
for the patient) -> a pharmacist releases it over the API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.principals import Role
from dispatch.orders import fulfilment
from telemetry.settings import TelemetrySettings
from tests.integration.api.conftest import (
    PASSWORD,
    WAIT_S,
    api_settings,
    login,
    services_of,
)
from tests.integration.api.test_order_flow import PHARMACY, _order_body
from tests.mqtt_clients import connected_client

DEAD_LETTERS = "SELECT count(*) FROM telemetry.dead_letter"


@pytest.fixture
def ingest_client(
    fresh_db: str, mqtt_url: str, unique_id: str
) -> Iterator[tuple[TestClient, str]]:
    """An app running the telemetry ingest on the test broker (unique topics)."""
    settings = api_settings(fresh_db, run_ingest=True)
    prefix = f"rxd-test/{unique_id}"
    settings.telemetry = TelemetrySettings(
        mqtt_url=mqtt_url,
        topic_prefix=prefix,
        client_id=f"api-{unique_id}",
        share_group=None,
    )
    with TestClient(create_app(settings)) as client:
        _wait_until_ingesting(mqtt_url, prefix, fresh_db)
        yield client, prefix


def _publish(mqtt_url: str, topic: str, payload: bytes) -> None:
    pub = connected_client(mqtt_url)
    pub.loop_start()
    try:
        info = pub.publish(topic, payload, qos=1)
        info.wait_for_publish(WAIT_S)
        assert info.is_published(), "the broker did not acknowledge the message"
    finally:
        pub.loop_stop()
        pub.disconnect()


def _wait_until_ingesting(mqtt_url: str, prefix: str, database_url: str) -> None:
    """Publish a probe until the app's ingest worker dead-letters one: from then on
    its subscription is in place (a message published before the broker
    acknowledged it would be lost)."""
    probe = f"{prefix}/boxes/probe-box/telemetry"
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        _publish(mqtt_url, probe, b"probe")
        for _ in range(20):
            with psycopg.connect(database_url) as conn:
                row = conn.execute(DEAD_LETTERS).fetchone()
            if row and row[0]:
                return
            time.sleep(0.1)
    raise AssertionError("the app's ingest worker never received a probe")


def _recv_alert(ws: Any, kind: str, limit: int = 500) -> dict[str, Any]:
    for _ in range(limit):
        frame: dict[str, Any] = ws.receive_json()
        data: dict[str, Any] = frame["data"]
        if frame["type"] == "alert" and data["kind"] == kind:
            return data
    raise AssertionError(f"no {kind} alert")


def test_excursion_holds_the_order_and_a_pharmacist_releases_it(
    ingest_client: tuple[TestClient, str], mqtt_url: str
) -> None:
    """40 minutes at 12 °C in a refrigerated box put its order on hold."""
    client, prefix = ingest_client
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
        "/products",
        headers=ph,
        json={
            "sku": "SKU-INS-100",
            "name": "Insulin",
            "storage_class": "refrigerated",
            "prescription_only": True,
        },
    ).raise_for_status()
    expiry = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
    lot = client.post(
        "/pharmacies/ph-1/stock",
        headers=ph,
        json={
            "sku": "SKU-INS-100",
            "lot_number": "LOT-1",
            "expiry_date": expiry,
            "quantity": 10,
        },
    ).json()
    client.post(
        "/riders",
        headers=disp,
        json={
            "id": "rider-1",
            "name": "Luca",
            "vehicle_type": "scooter",
            "cold_box_slots": 2,
        },
    ).raise_for_status()
    client.post(
        "/cold-boxes",
        headers=disp,
        json={"id": "box-1", "profile_code": "refrigerated", "rider_id": "rider-1"},
    ).raise_for_status()
    order = client.post(
        "/orders", headers={**disp, "Idempotency-Key": "cold-0001"}, json=_order_body()
    ).json()
    with services.db.transaction() as tx:
        fulfilment.assign_order(tx, order["id"], "rider-1", actor="test:planner")
    rider = {
        "Authorization": "Bearer "
        + services.auth.issue_device_token(rider_id="rider-1")
    }
    client.post(
        f"/orders/{order['id']}/pickup",
        headers=rider,
        json={"scanned_lot_ids": [lot["id"]], "position": PHARMACY},
    ).raise_for_status()

    now = datetime.now(UTC)
    readings = [
        {
            "seq": i + 1,
            "temp_c": 12.0,
            "ts": int((now - timedelta(minutes=40 - i)).timestamp() * 1000),
        }
        for i in range(41)
    ]
    with client.websocket_connect("/ws/dispatch", headers=disp) as feed:
        feed.receive_json()
        _publish(mqtt_url, f"{prefix}/boxes/box-1/telemetry", orjson.dumps(readings))
        hold = _recv_alert(feed, "hold.placed")
    assert order["id"] in hold["order_ids"]
    assert (
        client.get(f"/orders/{order['id']}", headers=disp).json()["status"] == "on_hold"
    )
    assert client.get(f"/track/{order['tracking_token']}").json()["status"] == "delayed"

    [open_hold] = client.get("/holds", headers=ph).json()
    released = client.post(
        f"/holds/{open_hold['id']}/release",
        headers=ph,
        json={"note": "MKT within limits"},
    )
    assert released.status_code == 200, released.text
    deadline = time.monotonic() + WAIT_S
    status = ""
    while time.monotonic() < deadline:
        status = client.get(f"/orders/{order['id']}", headers=disp).json()["status"]
        if status == "picked_up":
            break
        time.sleep(0.1)
    assert status == "picked_up"
