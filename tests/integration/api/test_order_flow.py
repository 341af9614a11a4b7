"""An order end to end through the API, and what each audience may see."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.auth.principals import Role
from api.logging import build_handler
from dispatch.orders import fulfilment
from tests.integration.api.conftest import Credentials, patient_token, services_of

PATIENT = {
    "name": "Maria Camilleri-Borg",
    "phone": "+35699123456",
    "address": "12 Triq il-Kbira, Valletta",
}
PRODUCT_NAME = "Insulatard FlexPen 100IU"
SKU = "SKU-INS-100"
HOME = {"lat": 35.8989, "lon": 14.5146}
PHARMACY = {"lat": 35.8975, "lon": 14.5120}
FORBIDDEN_FOR_RIDER_AND_PATIENT = (
    SKU,
    PRODUCT_NAME,
    "Camilleri",
    PATIENT["phone"],
    "Triq",
    "quantity",
    "sku",
)


def _seed_catalogue(client: TestClient, creds: Credentials) -> None:
    ph = creds(Role.pharmacist)
    r = client.post(
        "/pharmacies",
        headers=ph,
        json={
            "id": "ph-1",
            "name": "Valletta Pharmacy",
            "location": PHARMACY,
            "licence_number": "LIC-001",
        },
    )
    assert r.status_code == 201, r.text
    r = client.post("/products", headers=ph, json={"sku": SKU, "name": PRODUCT_NAME})
    assert r.status_code == 201, r.text
    expiry = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
    csv_text = f"sku,lot_number,expiry_date,quantity\n{SKU},LOT-A,{expiry},5\n"
    r = client.post(
        "/pharmacies/ph-1/stock/import",
        headers={**ph, "Content-Type": "text/csv"},
        content=csv_text,
    )
    assert r.status_code == 200, r.text
    assert r.json()["imported"] == 1


def _order_body(quantity: int = 2) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "patient_ref": "P-123",
        "patient": PATIENT,
        "delivery_location": HOME,
        "lines": [{"sku": SKU, "quantity": quantity}],
        "window_start_at": now.isoformat(),
        "window_end_at": (now + timedelta(hours=3)).isoformat(),
    }


def _assert_no_phi(payload: str) -> None:
    for needle in FORBIDDEN_FOR_RIDER_AND_PATIENT:
        assert needle not in payload, needle


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Everything logged (DEBUG and up) through the app's JSON handler."""
    stream = io.StringIO()
    handler = build_handler(stream)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def test_order_lifecycle_and_audience_views(
    client: TestClient, creds: Credentials, captured_logs: io.StringIO
) -> None:
    """Create (idempotently), assign, pick up with a lot scan, deliver with the
    patient's code; the rider and patient views never carry PHI, and the logs
    never carry patient data, the OTP or any token."""
    _seed_catalogue(client, creds)
    disp = creds(Role.dispatcher)
    key = {"Idempotency-Key": "order-key-0001"}
    r = client.post("/orders", headers={**disp, **key}, json=_order_body())
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "sourced"
    assert order["pharmacy_id"] == "ph-1"
    assert "patient" not in order
    again = client.post("/orders", headers={**disp, **key}, json=_order_body())
    assert again.json()["id"] == order["id"]
    assert again.json()["tracking_token"] == order["tracking_token"]
    token = order["tracking_token"]

    r = client.post(
        "/riders",
        headers=disp,
        json={"id": creds.rider_id, "name": "Luca Zammit", "vehicle_type": "scooter"},
    )
    assert r.status_code == 201, r.text
    services = services_of(client)
    with services.db.transaction() as tx:
        fulfilment.assign_order(tx, order["id"], creds.rider_id, actor="test:planner")

    rider = creds(Role.rider)
    route = client.get("/riders/me/route", headers=rider)
    assert route.status_code == 200
    kinds = [(s["kind"], s["first_name"]) for s in route.json()["stops"]]
    assert kinds == [("pickup", None), ("delivery", "Maria")]
    _assert_no_phi(route.text)

    ph = creds(Role.pharmacist)
    assert (
        client.get(f"/orders/{order['id']}/pick-list", headers=rider).status_code == 403
    )
    [line] = client.get(f"/orders/{order['id']}/pick-list", headers=ph).json()
    assert (line["sku"], line["lot_number"], line["quantity"]) == (SKU, "LOT-A", 2)
    assert client.get("/pharmacies/ph-1/pick-list", headers=disp).json() == [line]
    wrong = client.post(
        f"/orders/{order['id']}/pickup",
        headers=rider,
        json={"scanned_lot_ids": [line["lot_id"] + 999]},
    )
    assert wrong.status_code == 422
    assert wrong.json()["code"] == "lot_mismatch"
    ok = client.post(
        f"/orders/{order['id']}/pickup",
        headers=rider,
        json={"scanned_lot_ids": [line["lot_id"]], "position": PHARMACY},
    )
    assert ok.status_code == 200, ok.text
    assert client.get(f"/orders/{order['id']}/pick-list", headers=ph).json() == []
    assert client.get("/pharmacies/ph-1/pick-list", headers=ph).json() == []

    view = client.get(f"/track/{token}")
    assert view.json()["status"] == "on_the_way"
    _assert_no_phi(view.text)
    refused = client.get(f"/track/{token}/messages")
    assert refused.status_code == 403  # the creator's link: no delivery code
    patient = patient_token(client, order["id"])
    assert patient != token
    [message] = client.get(f"/track/{patient}/messages").json()
    match = re.search(r"\d{4,8}", message["body"])
    assert match is not None
    code = match.group(0)

    wrong_code = "1" * len(code) if code == "0" * len(code) else "0" * len(code)
    bad = client.post(
        f"/orders/{order['id']}/delivery",
        headers=rider,
        json={"otp": wrong_code, "position": HOME},
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "otp_mismatch"
    good = client.post(
        f"/orders/{order['id']}/delivery",
        headers=rider,
        json={"otp": code, "position": HOME},
    )
    assert good.status_code == 200, good.text
    assert client.get(f"/track/{token}").json()["status"] == "delivered"

    admin = creds(Role.admin)
    verify = client.post("/audit/verify", headers=admin).json()
    assert verify["ok"] is True
    assert verify["entries_checked"] > 5
    actions = {
        e["action"]
        for e in client.get(
            "/audit", headers=admin, params={"subject_id": order["id"]}
        ).json()
    }
    assert "patient.rider_disclosure" in actions  # the rider route showed the name

    logged = captured_logs.getvalue()
    assert logged  # the flow did log (so the check below can fail)
    secrets = [
        code,
        token,
        *PATIENT.values(),
        "Camilleri",
        *(h["Authorization"][7:] for h in (rider, disp, admin)),
    ]
    for secret in secrets:
        assert secret not in logged, "a secret reached the logs"


def test_bad_orders_get_typed_problems(client: TestClient, creds: Credentials) -> None:
    """Missing key, unknown SKU, inverted or year-9999 window, reused key: clear
    4xx codes."""
    _seed_catalogue(client, creds)
    disp = creds(Role.dispatcher)
    no_key = client.post("/orders", headers=disp, json=_order_body())
    assert no_key.status_code == 422
    assert no_key.json()["code"] == "validation_error"
    body = _order_body()
    body["lines"] = [{"sku": "NOPE", "quantity": 1}]
    unknown = client.post(
        "/orders", headers={**disp, "Idempotency-Key": "k-unknown-1"}, json=body
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_sku")
    body = _order_body()
    body["window_end_at"], body["window_start_at"] = (
        body["window_start_at"],
        body["window_end_at"],
    )
    inverted = client.post(
        "/orders", headers={**disp, "Idempotency-Key": "k-inv-001"}, json=body
    )
    assert (inverted.status_code, inverted.json()["code"]) == (
        422,
        "invalid_time_window",
    )
    body = _order_body()
    body["window_end_at"] = "9999-12-31T23:00:00+00:00"
    far = client.post(
        "/orders", headers={**disp, "Idempotency-Key": "k-far-0001"}, json=body
    )
    assert (far.status_code, far.json()["code"]) == (422, "invalid_time_window")
    first = client.post(
        "/orders",
        headers={**disp, "Idempotency-Key": "k-reuse-01"},
        json=_order_body(1),
    )
    assert first.status_code == 201
    reused = client.post(
        "/orders",
        headers={**disp, "Idempotency-Key": "k-reuse-01"},
        json=_order_body(3),
    )
    assert (reused.status_code, reused.json()["code"]) == (
        409,
        "idempotency_key_reused",
    )
    for r in (no_key, unknown, inverted, far, reused):
        assert r.headers["content-type"] == "application/problem+json"
        assert "Traceback" not in r.text


def test_a_rider_cannot_touch_another_riders_order(
    client: TestClient, creds: Credentials
) -> None:
    """Another rider's order does not exist for them (404), and a rider cannot
    read staff views."""
    _seed_catalogue(client, creds)
    disp = creds(Role.dispatcher)
    order = client.post(
        "/orders", headers={**disp, "Idempotency-Key": "k-other-01"}, json=_order_body()
    ).json()
    for rid in (creds.rider_id, "rider-2"):
        client.post(
            "/riders",
            headers=disp,
            json={"id": rid, "name": "R", "vehicle_type": "bike"},
        )
    with services_of(client).db.transaction() as tx:
        fulfilment.assign_order(tx, order["id"], creds.rider_id, actor="test:planner")
    other = services_of(client).auth.issue_device_token(rider_id="rider-2")
    r = client.post(
        f"/orders/{order['id']}/pickup",
        headers={"Authorization": f"Bearer {other}"},
        json={"scanned_lot_ids": [1]},
    )
    assert r.status_code == 404
    assert (
        client.get(f"/orders/{order['id']}", headers=creds(Role.rider)).status_code
        == 403
    )
    route = client.get(
        "/riders/me/route", headers={"Authorization": f"Bearer {other}"}
    ).json()
    assert route["stops"] == []
