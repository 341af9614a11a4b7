"""Smaller input rules of issue 20, item 8, each refused at the door with a clear
problem and nothing already accepted lost: strict types (``quantity: true``),
control and bidi characters in patient fields, expired lots, holds on orders that
cannot be held, and "out of stock" told apart from a shelf-life problem."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.auth.principals import Role
from tests.integration.api.conftest import Credentials
from tests.integration.api.test_order_flow import SKU, _order_body, _seed_catalogue


def _post_order(client: TestClient, creds: Credentials, body: Any, key: str) -> Any:
    headers = {**creds(Role.dispatcher), "Idempotency-Key": key}
    return client.post("/orders", headers=headers, json=body)


def _problem(r: Any, status: int = 422) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = r.json()
    return problem


@pytest.mark.parametrize("quantity", [True, "2", 2.0, 2.5])
def test_a_quantity_must_be_a_json_integer(
    client: TestClient, creds: Credentials, quantity: Any
) -> None:
    _seed_catalogue(client, creds)
    body = _order_body()
    body["lines"][0]["quantity"] = quantity
    problem = _problem(_post_order(client, creds, body, "strict-quantity"))
    assert problem["code"] == "validation_error"
    assert [e["loc"] for e in problem["errors"]] == [["body", "lines", 0, "quantity"]]
    disp = creds(Role.dispatcher)
    assert client.get("/orders", headers=disp).json()["items"] == []


def test_strict_types_on_stock_and_pharmacy_edits(
    client: TestClient, creds: Credentials
) -> None:
    _seed_catalogue(client, creds)
    ph = creds(Role.pharmacist)
    expiry = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
    r = client.post(
        "/pharmacies/ph-1/stock",
        headers=ph,
        json={"sku": SKU, "lot_number": "L2", "expiry_date": expiry, "quantity": True},
    )
    assert _problem(r)["errors"][0]["loc"] == ["body", "quantity"]
    r = client.patch("/pharmacies/ph-1", headers=ph, json={"active": "false"})
    assert _problem(r)["errors"][0]["loc"] == ["body", "active"]
    assert client.get("/pharmacies/ph-1", headers=ph).json()["active"] is True


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Maria\x00 Borg"),
        ("name", "Maria \u202eBorg"),
        ("phone", "+356\u2066991"),
        ("address", "12 Triq\x00 il-Kbira"),
        ("address", "Flat 2\u202b, Valletta"),
    ],
)
def test_control_and_bidi_characters_in_patient_fields_are_refused(
    client: TestClient, creds: Credentials, field: str, value: str
) -> None:
    _seed_catalogue(client, creds)
    body = _order_body()
    body["patient"] = {**body["patient"], field: value}
    problem = _problem(_post_order(client, creds, body, "plain-text-1"))
    assert problem["code"] == "invalid_input"
    assert [e["loc"] for e in problem["errors"]] == [["body", "patient", field]]
    assert value not in problem["detail"]
    [lot] = client.get("/pharmacies/ph-1/stock", headers=creds(Role.pharmacist)).json()
    assert lot["quantity_reserved"] == 0


def test_access_notes_keep_line_breaks_but_not_nul(
    client: TestClient, creds: Credentials
) -> None:
    _seed_catalogue(client, creds)
    body = {**_order_body(), "access_notes": "gate 12\x00"}
    problem = _problem(_post_order(client, creds, body, "notes-nul-1"))
    assert [e["loc"] for e in problem["errors"]] == [["body", "access_notes"]]
    body = {**_order_body(), "access_notes": "gate 12\nfloor 3"}
    assert _post_order(client, creds, body, "notes-ok-1").status_code == 201


def test_an_expired_lot_is_not_received(client: TestClient, creds: Credentials) -> None:
    _seed_catalogue(client, creds)
    ph = creds(Role.pharmacist)
    yesterday = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    r = client.post(
        "/pharmacies/ph-1/stock",
        headers=ph,
        json={"sku": SKU, "lot_number": "OLD", "expiry_date": yesterday, "quantity": 3},
    )
    problem = _problem(r)
    assert problem["code"] == "invalid_input"
    assert problem["errors"][0]["loc"] == ["body", "expiry_date"]
    csv_text = f"sku,lot_number,expiry_date,quantity\n{SKU},OLD,{yesterday},3\n"
    r = client.post(
        "/pharmacies/ph-1/stock/import",
        headers={**ph, "Content-Type": "text/csv"},
        content=csv_text,
    )
    assert r.status_code == 422, r.text
    assert [
        lot["lot_number"]
        for lot in client.get("/pharmacies/ph-1/stock", headers=ph).json()
    ] == ["LOT-A"]


def test_out_of_stock_is_not_reported_as_shelf_life(
    client: TestClient, creds: Credentials
) -> None:
    _seed_catalogue(client, creds)  # 5 units, expiring in 400 days
    problem = _problem(
        _post_order(client, creds, _order_body(quantity=9), "out-of-stock-1")
    )
    assert problem["code"] == "no_pharmacy_has_stock"
    assert problem["detail"].startswith("out of stock")
    assert "shelf life" not in problem["detail"]


def test_a_short_shelf_life_is_reported_as_such(
    client: TestClient, creds: Credentials
) -> None:
    _seed_catalogue(client, creds)
    ph = creds(Role.pharmacist)
    r = client.post(
        "/products",
        headers=ph,
        json={"sku": "SKU-LONG", "name": "Long-lived", "min_shelf_life_days": 999},
    )
    assert r.status_code == 201, r.text
    expiry = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    r = client.post(
        "/pharmacies/ph-1/stock",
        headers=ph,
        json={
            "sku": "SKU-LONG",
            "lot_number": "S",
            "expiry_date": expiry,
            "quantity": 4,
        },
    )
    assert r.status_code == 201, r.text
    body = _order_body()
    body["lines"] = [{"sku": "SKU-LONG", "quantity": 1}]
    problem = _problem(_post_order(client, creds, body, "shelf-life-1"))
    assert problem["detail"].startswith("too short a shelf life"), problem


def test_a_hold_on_a_cancelled_order_is_refused_not_stored_empty(
    client: TestClient, creds: Credentials
) -> None:
    _seed_catalogue(client, creds)
    disp = creds(Role.dispatcher)
    order = _post_order(client, creds, _order_body(), "hold-cancel-1").json()
    r = client.post(f"/orders/{order['id']}/cancel", headers=disp, json={})
    assert r.status_code == 200, r.text
    r = client.post(
        "/holds", headers=disp, json={"reason": "damaged", "order_ids": [order["id"]]}
    )
    problem = _problem(r, 409)
    assert problem["code"] == "illegal_transition"
    assert client.get("/holds", headers=creds(Role.pharmacist)).json() == []


def test_an_unknown_controlled_schedule_is_refused_with_the_allowed_list(
    client: TestClient, creds: Credentials
) -> None:
    ph = creds(Role.pharmacist)
    body = {"sku": "SKU-MORPH", "name": "Morphine", "controlled_schedule": "C-2"}
    problem = _problem(client.post("/products", headers=ph, json=body))
    assert problem["code"] == "invalid_input"
    assert [e["loc"] for e in problem["errors"]] == [["body", "controlled_schedule"]]
    assert "CII" in problem["detail"]
    assert client.get("/products", headers=ph).json()["items"] == []
    body["controlled_schedule"] = " cii"
    r = client.post("/products", headers=ph, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["controlled_schedule"] == "CII"
